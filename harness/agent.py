"""The simulated agent: a deterministic stand-in for the Retell LLM.

It turns caller turns into the function calls a good agent makes: the service and date phrases as
spoken (the core matches and parses), the canonical service from the core's answer afterwards,
asking back on ambiguity, offering the core's alternatives when a slot is taken, and booking once
service, time and name are known. Everything it says about bookings is the core's own `message`:
the agent never claims "gebucht" by itself, so the truthfulness check judges the core.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from harness.callers import CallerIdentity
from harness.results import CallRecord, FunctionCallRecord, Utterance
from harness.retell import LiveCall, RetellPlatform
from harness.scenario import Policy
from harness.speech import (
    DateMention,
    Intent,
    Understanding,
    bare_name,
    spoken_clock,
    understand,
    wishes,
)

GREETING = "Salon Haarmonie, guten Tag! Wie kann ich Ihnen helfen?"
ASK_SERVICE = "Welche Leistung darf ich für Sie eintragen?"
ASK_TIME = "Wann möchten Sie gerne kommen?"
ASK_NAME = "Auf welchen Namen darf ich den Termin eintragen?"
ASK_NEW_TIME = "Auf wann möchten Sie den Termin verschieben?"
ASK_CHOICE = "Welcher Termin passt Ihnen?"
ANYTHING_ELSE = "Kann ich sonst noch etwas für Sie tun?"
NOT_UNDERSTOOD = "Entschuldigung, das habe ich nicht verstanden. Wie kann ich Ihnen helfen?"
# Said when a turn holds content words that fit nowhere: asking beats guessing what they meant.
ASK_WHAT_MEANT = "Entschuldigung, das habe ich nicht verstanden. Wie meinten Sie das?"
STILL_THERE = "Hallo? Sind Sie noch da?"
GOODBYE = "Vielen Dank für Ihren Anruf. Auf Wiederhören!"
TECHNICAL_TROUBLE = ("Entschuldigung, ich erreiche gerade unser Buchungssystem nicht. "
                     "Bitte versuchen Sie es später noch einmal.")

# Errors after which the agent asks the caller something rather than giving up.
ASK_BACK_ERRORS = {"service_ambiguous", "time_needed", "unparseable_time", "too_far_ahead", "appointment_ambiguous",
                   "invalid_args"}
OFFER_ERRORS = {"slot_taken", "lock_busy", "outside_hours", "in_past"}
CHANGES = {"book_appointment": "booked", "cancel_appointment": "cancelled",
           "reschedule_appointment": "rescheduled"}
MAX_FUNCTION_CALLS_PER_TURN = 4

Awaiting = Literal["service", "time", "name", "alternative", "candidate", "appointment", "new_time"]


@dataclass
class _State:
    intent: Intent | None = None
    service: str | None = None
    moment: DateMention = field(default_factory=DateMention)
    date_value: str | None = None  # what goes into date_time / new_date_time
    old_value: str | None = None  # which appointment (cancel / reschedule)
    name: str | None = None
    phone: str | None = None  # only what the caller said: the agent does not know the caller id
    service_turn: str | None = None  # full_turn style: the caller's sentence that named the service
    date_turns: list[str] = field(default_factory=list)  # full_turn style: the sentences about the time
    date_offered: bool = False  # the date is one the core offered (an ISO start), not the caller's words
    checked: tuple[str, str] | None = None
    alternatives: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    appointments: list[dict[str, Any]] = field(default_factory=list)
    awaiting: Awaiting | None = None
    silences: int = 0
    ended: bool = False


def outcome_of(functions: list[FunctionCallRecord]) -> str:
    """What the call achieved, judged from the core's answers (not from what the script hoped)."""
    changed = [f for f in functions if f.name in CHANGES and f.success]
    if changed:
        return CHANGES[changed[-1].name]
    if not functions:
        return "asked_back"
    last = functions[-1]
    if last.transport_error or last.success is None:
        return "refused"
    if last.success:
        if last.name in ("list_appointments", "get_available_services"):
            return "listed"
        if last.name == "check_availability" and last.data.get("available") is False:
            return "refused"
        return "asked_back"
    return "asked_back" if last.error in ASK_BACK_ERRORS else "refused"


class SimulatedAgent:
    """One call's agent. `respond` takes a caller turn and returns what the agent says."""

    def __init__(self, platform: RetellPlatform, call: LiveCall, record: CallRecord,
                 caller: CallerIdentity, policy: Policy) -> None:
        self._platform = platform
        self._call = call
        self._record = record
        self._caller = caller
        self._policy = policy
        self._s = _State()
        self._pending: list[str] = []  # further wishes of a turn, served once the first is done
        self.last_heard: Understanding | None = None

    @property
    def ended(self) -> bool:
        return self._s.ended

    async def respond(self, turn: str | None) -> str:
        """Answer a caller turn; several wishes in it are served one after the other."""
        pieces: list[str | None] = list(wishes(turn)) if turn else [turn]
        if len(pieces) > 1:
            # A piece the agent cannot place stops everything: guessing around it is worse.
            unplaced = [w for piece in pieces for w in understand(piece).unplaced]
            if unplaced:
                self.last_heard = understand(turn)
                return ASK_WHAT_MEANT
        self._pending += [p for p in pieces[1:] if p]
        said = [await self._respond_one(pieces[0])]
        while self._pending and self._s.intent is None and self._s.awaiting is None and not self._s.ended:
            said[-1] = said[-1].removesuffix(ANYTHING_ELSE).strip() or said[-1]
            said.append(await self._respond_one(self._pending.pop(0)))
        if len(pieces) > 1:
            self.last_heard = understand(turn)
        return " ".join(said)

    async def _respond_one(self, turn: str | None) -> str:
        heard = understand(turn, name_asked=self._s.awaiting == "name")
        self.last_heard = heard
        if heard.unplaced:
            return ASK_WHAT_MEANT
        if heard.silent:
            self._s.silences += 1
            if self._s.silences >= 2:
                self._s.ended = True
                return GOODBYE
            return STILL_THERE
        self._s.silences = 0
        understood = self._absorb(heard)
        said: list[str] = []
        for _ in range(MAX_FUNCTION_CALLS_PER_TURN):
            step = self._next_step(understood)
            if isinstance(step, str):
                said.append(step)
                break
            name, args = step
            record = await self._platform.function_call(self._call, name, args)
            self._record.functions.append(record)
            reply = self._digest(name, record)
            if reply is not None:
                record.spoken = True
                said.append(reply)
                break
        return " ".join(said) or ANYTHING_ELSE

    # -- reading the caller -------------------------------------------------------------------

    def _absorb(self, heard: Understanding) -> bool:
        """Fold a turn into the state; False when nothing in it was usable."""
        s = self._s
        used = False
        if heard.intent and heard.intent != "book":
            if heard.intent != s.intent:
                s.awaiting = None  # a change of mind: "ach, sagen Sie ihn doch lieber ab"
            s.intent, used = heard.intent, True
        elif heard.intent == "book" and s.intent is None:
            s.intent, used = "book", True
        if s.awaiting == "candidate":
            used |= self._pick_candidate(heard)
        elif s.awaiting == "alternative" and not heard.dates:
            used |= self._pick_alternative(heard)
        elif s.awaiting == "appointment":
            used |= self._pick_appointment(heard)
        # A bare noun phrase with no wish around it is not a service wish.
        wish = heard.wish or s.intent == "book" or s.awaiting == "service"
        if heard.service and wish and s.intent in (None, "book"):
            if heard.service != s.service:
                s.service, s.checked = heard.service, None
            s.service_turn, used, s.intent = heard.text, True, "book"
            if s.awaiting == "service":
                s.awaiting = None
        if heard.dates:
            used = True
            self._absorb_dates(heard)
        name = heard.name or (bare_name(heard.text) if s.awaiting == "name" else None)
        if name:
            s.name, used = name, True
            if s.awaiting == "name":
                s.awaiting = None
        if heard.phone:
            s.phone, used = heard.phone, True
        if heard.yes or heard.no or heard.thanks:
            used = True
        return used

    def _absorb_dates(self, heard: Understanding) -> None:
        s = self._s
        dates = [d for d in heard.dates if not d.replaced]
        replaced = [d for d in heard.dates if d.replaced]
        if s.intent == "reschedule" and replaced and not s.old_value:
            s.old_value = replaced[0].phrase()  # "auf Freitag statt Donnerstag"
        if not dates:
            return
        if s.intent == "cancel":
            s.old_value = _folded(dates, DateMention()).phrase()
            return
        if s.intent == "reschedule":
            marked = [i for i, d in enumerate(dates) if d.lead in ("auf", "nach", "zu")]
            split = marked[0] if marked and marked[0] > 0 else (1 if len(dates) > 1 else 0)
            if split:
                old = _folded(dates[:split], DateMention())
                s.old_value = old.phrase()
                s.moment = DateMention(day=old.day)
                dates = dates[split:]
            elif not marked and s.awaiting != "new_time" and not s.old_value:
                # "meinen Termin morgen verschieben": the appointment, not the new time.
                s.old_value = dates[0].phrase()
                return
        # "Dann lieber um vier": a time alone keeps the day under discussion, and vice versa.
        fresh_day = dates[0].day is not None
        s.moment = _folded(dates, s.moment)
        s.date_turns = [heard.text] if fresh_day or not s.date_turns else [*s.date_turns, heard.text]
        s.date_value, s.date_offered = s.moment.phrase(), False
        s.checked = None
        if s.intent is None:
            s.intent = "book"
        if s.awaiting in ("time", "alternative", "new_time"):
            s.awaiting = None

    def _pick_candidate(self, heard: Understanding) -> bool:
        s = self._s
        spoken = heard.text.lower()
        named = [c for c in s.candidates if c.lower() in spoken]
        if named:
            s.service = max(named, key=len)
        elif heard.ordinal is not None and s.candidates:
            s.service = s.candidates[heard.ordinal] if heard.ordinal < len(s.candidates) else s.candidates[-1]
        elif heard.service:
            s.service = heard.service
        else:
            return False
        s.awaiting, s.checked = None, None
        heard.service = None  # consumed
        return True

    def _pick_alternative(self, heard: Understanding) -> bool:
        s = self._s
        if heard.ordinal is not None and s.alternatives:
            index = heard.ordinal if heard.ordinal < len(s.alternatives) else -1
            chosen = s.alternatives[index]
        elif heard.yes and s.alternatives:
            chosen = s.alternatives[0]
        elif heard.no:
            s.awaiting, s.date_value = "time", None
            return True
        else:
            return False
        s.date_value, s.checked, s.awaiting, s.date_offered = chosen, None, None, True
        return True

    def _pick_appointment(self, heard: Understanding) -> bool:
        s = self._s
        chosen: dict[str, Any] | None = None
        if heard.ordinal is not None and s.appointments:
            chosen = s.appointments[min(heard.ordinal, len(s.appointments) - 1)]
        for mention in heard.dates:
            clock = spoken_clock(mention.time or "")
            for appointment in s.appointments:
                start = datetime.fromisoformat(str(appointment.get("start")))
                if clock and (start.hour, start.minute) == clock:
                    chosen = appointment
        for appointment in s.appointments:
            if str(appointment.get("service", "")).lower() in heard.text.lower():
                chosen = appointment
        if chosen is None:
            return False
        s.old_value, s.awaiting = str(chosen.get("start")), None
        heard.dates = []  # they named the appointment, not a new time
        return True

    # -- deciding -----------------------------------------------------------------------------

    def _phone(self) -> dict[str, str]:
        return {"customer_phone": self._s.phone} if self._s.phone else {}

    def _service_arg(self) -> str:
        s = self._s
        if self._policy.args == "full_turn" and s.service_turn:
            return s.service_turn
        return s.service or ""

    def _date_arg(self) -> str:
        s = self._s
        if self._policy.args == "full_turn" and s.date_turns and not s.date_offered:
            return " ".join(s.date_turns)
        return s.date_value or ""

    def _next_step(self, understood: bool) -> str | tuple[str, dict[str, Any]]:
        s = self._s
        if s.intent == "goodbye":
            s.ended = True
            return GOODBYE
        if s.intent == "services":
            return "get_available_services", {}
        if s.intent == "list":
            return "list_appointments", self._phone()
        if s.intent == "cancel":
            if s.awaiting == "appointment":
                return ASK_CHOICE
            return "cancel_appointment", {**({"date_time": s.old_value} if s.old_value else {}), **self._phone()}
        if s.intent == "reschedule":
            if s.awaiting == "appointment":
                return ASK_CHOICE
            if not s.date_value:
                s.awaiting = "new_time"
                return ASK_NEW_TIME
            args = {"new_date_time": s.date_value, **self._phone()}
            if s.old_value:
                args["old_date_time"] = s.old_value
            return "reschedule_appointment", args
        if s.intent == "book":
            return self._booking_step()
        if s.awaiting == "alternative" and s.alternatives:
            return ASK_CHOICE
        return ANYTHING_ELSE if understood else NOT_UNDERSTOOD

    def _booking_step(self) -> str | tuple[str, dict[str, Any]]:
        s = self._s
        if s.awaiting == "candidate":
            return ASK_SERVICE
        if s.awaiting == "alternative":
            return ASK_CHOICE
        if not s.service:
            s.awaiting = "service"
            return ASK_SERVICE
        if not s.date_value:
            s.awaiting = "time"
            return ASK_TIME
        if self._policy.check_before_booking and s.checked != (s.service, s.date_value):
            return "check_availability", {"service": self._service_arg(), "date_time": self._date_arg()}
        if not s.name:
            s.awaiting = "name"
            return ASK_NAME
        return "book_appointment", {"service": self._service_arg(), "date_time": self._date_arg(),
                                    "customer_name": s.name, **self._phone()}

    # -- reading the core's answer ------------------------------------------------------------

    def _with_question(self, message: str, question: str) -> str:
        return message if message.rstrip().endswith("?") else f"{message} {question}".strip()

    def _digest(self, name: str, record: FunctionCallRecord) -> str | None:
        """Update the state from an answer; the words to say, or None to go on without speaking."""
        s = self._s
        if record.transport_error or record.success is None:
            s.intent, s.awaiting = None, None
            return TECHNICAL_TROUBLE
        message = record.message or ""
        data = record.data
        if record.success:
            if name == "check_availability":
                s.service = str(data.get("service") or s.service)
                s.service_turn = None  # the core named the service: from now on its name
                if data.get("requested") is None:  # a day or a window: the core listed free times
                    return self._offer(message, data.get("slots") or [])
                if data.get("available"):
                    s.checked = (s.service, s.date_value or "")
                    if s.name:
                        return None
                    s.awaiting = "name"
                    return self._with_question(message, ASK_NAME)
                return self._offer(message, data.get("slots") or [])
            s.intent, s.awaiting = None, None
            return self._with_question(message, ANYTHING_ELSE) if name in CHANGES else message
        error = record.error or ""
        if error == "service_ambiguous":
            s.service_turn = None
            s.candidates = [str(c) for c in data.get("candidates") or []]
            s.awaiting = "candidate"
            options = ", ".join(s.candidates[:-1]) + f" oder {s.candidates[-1]}" if s.candidates else ""
            return self._with_question(message, f"Meinen Sie {options}?" if options else ASK_SERVICE)
        if error == "service_unknown":
            s.service, s.checked, s.awaiting, s.service_turn = None, None, "service", None
            return self._with_question(message, ASK_SERVICE)
        if error == "time_needed" and data.get("alternatives"):
            return self._offer(message, data["alternatives"])
        if error in ("time_needed", "unparseable_time"):
            s.moment, s.date_value, s.checked, s.date_turns = DateMention(), None, None, []
            s.awaiting = "new_time" if s.intent == "reschedule" else "time"
            return self._with_question(message, ASK_TIME)
        if error == "appointment_ambiguous":
            s.appointments = [a if isinstance(a, dict) else {"start": str(a)}
                              for a in data.get("appointments") or []]
            s.awaiting = "appointment"
            return self._with_question(message, ASK_CHOICE)
        if error in OFFER_ERRORS:
            s.checked = None
            return self._offer(message, data.get("alternatives") or [])
        s.intent, s.awaiting = None, None
        return self._with_question(message, ANYTHING_ELSE)

    def _offer(self, message: str, alternatives: list[Any]) -> str:
        s = self._s
        s.alternatives = [str(a) for a in alternatives]
        if s.alternatives:
            s.awaiting = "alternative"
            return self._with_question(message, ASK_CHOICE)
        s.awaiting, s.date_value = "time", None
        return self._with_question(message, ASK_TIME)


def _folded(dates: list[DateMention], base: DateMention) -> DateMention:
    """The moment a run of mentions leaves: each later part replaces the same part before it."""
    moment = base
    for mention in dates:
        moment = DateMention(day=mention.day or moment.day, time=mention.time or moment.time)
    return moment


async def simulate_call(platform: RetellPlatform, turns: list[str], caller: CallerIdentity, now: datetime,
                        policy: Policy, record: CallRecord) -> CallRecord:
    """One phone call from greeting to hang-up, with the lifecycle events around it."""
    call = LiveCall(call_id=record.call_id, from_number=caller.phone,
                    start_timestamp=int(now.timestamp() * 1000), utterances=record.utterances)
    agent = SimulatedAgent(platform, call, record, caller, policy)
    record.utterances.append(Utterance(role="agent", text=GREETING))
    record.events += await platform.event(call, "call_started")
    for turn in turns:
        said = Utterance(role="user", text=turn)
        record.utterances.append(said)
        answer = await agent.respond(turn)
        said.unplaced = agent.last_heard.unplaced if agent.last_heard else []
        record.utterances.append(Utterance(role="agent", text=answer))
        if agent.ended:
            break
    call.status = "ended"
    call.end_timestamp = call.start_timestamp + 30_000 * max(1, record.turns())
    record.events += await platform.event(call, "call_ended")
    # PhoneCallResponse knows no "analyzed" status: the analysed call stays "ended".
    record.events += await platform.event(call, "call_analyzed")
    record.outcome = outcome_of(record.functions)
    return record


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex}"
