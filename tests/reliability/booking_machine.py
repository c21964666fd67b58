"""The stateful property test: callers book, cancel and reschedule a few slots through the real HTTP
stack while hypothesis draws the faults; harness.history and harness.invariants judge.

After every step: truthful answers, one winner per slot (from the history), no double booking at
Cal.com or in the DB, no ghost. At the end of each example, once Cal.com is healthy and quiet: no
orphan the core lost track of (its row not flagged for the reconciler), then after a reconcile pass
no orphan at all, and the end state agrees with every answer a caller heard.
"""

from __future__ import annotations

import itertools
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from harness.history import History, check, final_state
from harness.invariants import (
    Snapshot,
    calcom_double_bookings,
    db_double_bookings,
    find_violations,
    ghosts,
)
from tests.reliability.live_stack import LiveStack
from tests.reliability.outages import TcpGate
from tests.reliability.reproduction import reproduction_yaml
from tests.reliability.schedule import (
    CALLERS,
    Book,
    Caller,
    Cancel,
    FaultChoice,
    Operation,
    Reschedule,
    SalonSlot,
    Step,
    db_faults,
    fault_sets,
    moves,
    operations,
)

_seeds = itertools.count(1000)

# Rules that reach schedules the first machine never drew (issue 18, item 7). On by default now that
# the bugs they found are fixed; CALLSIM_STATEFUL_NEW_RULES narrows them (a comma list of names) or
# switches them off ("0"). tests/reliability/README.md says which bug each one found.
NEW_RULES = ("repeat", "overlap", "reconcile", "dbkill", "kill")


def new_rules_from_env(raw: str | None = None) -> frozenset[str]:
    raw = (os.environ.get("CALLSIM_STATEFUL_NEW_RULES", "all") if raw is None else raw).strip().lower()
    if raw in ("1", "all", "true", "yes"):
        return frozenset(NEW_RULES)
    if raw in ("", "0", "false", "no"):
        return frozenset()
    names = {name.strip() for name in raw.split(",") if name.strip()}
    unknown = names - set(NEW_RULES)
    if unknown:
        raise ValueError(f"CALLSIM_STATEFUL_NEW_RULES: unknown rule(s) {sorted(unknown)}; known: {NEW_RULES}")
    return frozenset(names)



@dataclass
class Totals:
    """What a run did, over all examples: the figures `make soak` prints."""

    examples: int = 0
    operations: int = 0
    faults_injected: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)
    first_caught_in_example: int | None = None
    first_reproduction: str | None = None  # the first failing schedule, as a scenario file
    new_rule_steps: Counter[str] = field(default_factory=Counter)  # steps run per opt-in rule

    def p95_s(self) -> float | None:
        return statistics.quantiles(self.latencies, n=20)[-1] if len(self.latencies) >= 20 else None

    def summary(self) -> str:
        p95 = self.p95_s()
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        rules = ", ".join(f"{k} {v}" for k, v in sorted(self.new_rule_steps.items()))
        return (f"examples {self.examples}, operations {self.operations}, faults injected {self.faults_injected}, "
                f"anomalies {len(self.anomalies)}; new-rule steps: {rules or 'none'}; answers: {outcomes}; latency p95 "
                f"{'–' if p95 is None else f'{p95 * 1000:.0f} ms'}, max "
                f"{max(self.latencies, default=0) * 1000:.0f} ms")


class Anomalies(AssertionError):
    pass


def make_machine(stack: LiveStack, slots: tuple[SalonSlot, ...], totals: Totals, *,
                 with_db_faults: bool = True, race_windows_ms: tuple[int, ...] = (0, 50),
                 new_rules: frozenset[str] = frozenset(), reconcile_grace_s: float = 2.0,
                 db_gate: TcpGate | None = None) -> type[RuleBasedStateMachine]:
    """A state machine class bound to one running stack (hypothesis instantiates it per example).

    `race_windows_ms`: the Cal.com race windows a schedule may switch between; one value keeps that
    window for the whole run. `new_rules`: the opt-in rules to draw (NEW_RULES); `db_gate`: the TCP
    gate between the core and its database, which the "dbkill" rule shuts mid-SAGA (PostgreSQL)."""
    db_fault = db_faults(with_db_faults)
    ops = operations(slots, db_fault=db_fault)
    by_slot = {s.slot: s for s in slots}

    class OptInRules:
        """The opt-in rules, mixed in only when some are switched on: with none, the machine draws
        exactly the schedules it drew before they existed."""

        @precondition(lambda self: "repeat" in new_rules and bool(self.sent))
        @rule(pick=st.integers(0, 2**16), faults=fault_sets())
        def same_call_says_it_again(self, pick: int, faults: list[FaultChoice]) -> None:
            """The agent sends an earlier request of the same call again, word for word, after other
            steps ran: book → cancel → book again, or the retry a refusal asked for ("bitte gleich
            noch einmal"). A deliberate repeat, not a Retell retry."""
            op, call_id = self.sent[pick % len(self.sent)]
            self._new_rule("repeat")
            self._run(Step("ops", faults=faults, ops=[op], call_ids=[call_id], note=f"again in call {call_id}"))

        @precondition(lambda self: "repeat" in new_rules)
        @rule(op=ops, faults=fault_sets())
        def same_call_goes_on(self, op: Operation, faults: list[FaultChoice]) -> None:
            """The caller's next request within their ongoing call (the call id of their last one)."""
            call_id = self.ongoing.get(op.caller.phone)
            self._new_rule("repeat")
            self._run(Step("ops", faults=faults, ops=[op], call_ids=[call_id],
                           note=f"in call {call_id}" if call_id else ""))

        @precondition(lambda self: "overlap" in new_rules)
        @rule(op=ops, slow=st.sampled_from(SLOW_CREATES), retry_after_ms=st.sampled_from((150, 400, 650, 1000)),
              faults=fault_sets())
        def retry_while_the_first_attempt_runs(self, op: Operation, slow: str, retry_after_ms: int,
                                               faults: list[FaultChoice]) -> None:
            """Retell's timeout passed while the first attempt still runs: the same request again,
            overlapping it (before and after the lease ran out); only the retry's answer is heard."""
            self._new_rule("overlap")
            step = Step("ops", faults=_with(faults, slow), ops=[op, op],
                        note=f"second request {retry_after_ms} ms after the first, first answer lost")
            call_id = self._call_id(op, None)
            self._run(step, perform=lambda: self._staggered(
                [(op, call_id, False), (op, call_id, True)], retry_after_ms / 1000))

        @precondition(lambda self: "reconcile" in new_rules)
        @rule(batch=st.lists(ops, min_size=1, max_size=3), after_ms=st.sampled_from((0, 300, 700, 1200)),
              slow_listing=st.booleans(), faults=fault_sets())
        def reconciler_runs_meanwhile(self, batch: list[Operation], after_ms: int, slow_listing: bool,
                                      faults: list[FaultChoice]) -> None:
            """Another worker's reconciler pass, with the configured grace, while callers book; its
            Cal.com listing may be slow (a busy account), which widens the gap between what the pass
            read and what it writes."""
            self._new_rule("reconcile")
            if slow_listing:
                faults = _with(faults, "listing_slow")
            step = Step("ops", faults=faults, ops=batch, concurrent=True,
                        note=f"reconciler pass (grace {reconcile_grace_s:g} s) {after_ms} ms into the step")

            def perform() -> list[str]:
                with ThreadPoolExecutor(1, thread_name_prefix="reconciler") as pool:
                    passed = pool.submit(self._reconcile_after, after_ms / 1000)
                    answers = self._concurrently(batch)
                    passed.result(timeout=120)
                return answers

            self._run(step, perform=perform)

        @precondition(lambda self: "dbkill" in new_rules and db_gate is not None)
        @rule(op=ops, slow=st.sampled_from(SLOW_CREATES), cut_after_ms=st.sampled_from((100, 400, 700)),
              down_ms=st.sampled_from((300, 1500)))
        def database_connection_cut(self, op: Operation, slow: str, cut_after_ms: int, down_ms: int) -> None:
            """The database goes away mid-SAGA (restart, failover): open connections are cut and new
            ones refused for a while, as PostgreSQL restarting looks to asyncpg."""
            assert db_gate is not None
            self._new_rule("dbkill")
            step = Step("ops", faults=[FaultChoice(slow, True)], ops=[op],
                        note=f"database cut {cut_after_ms} ms into the call for {down_ms} ms")

            def perform() -> list[str]:
                call_id = self._call_id(op, None)
                # Its unknown-outcome marker may land only once the database is back: the pending
                # row holds the slot and the reconciler's stale-intent pass reads it meanwhile.
                self.left_to_reconciler.add(call_id)
                with ThreadPoolExecutor(1, thread_name_prefix="caller") as pool:
                    answer = pool.submit(self._perform, op, step, call_id)
                    time.sleep(cut_after_ms / 1000)
                    db_gate.close()
                    try:
                        time.sleep(down_ms / 1000)
                    finally:
                        db_gate.open()
                    return [answer.result(timeout=60)]

            self._run(step, perform=perform)

        # At most one per example: a new worker takes seconds to start, and the soak must stay bounded.
        @precondition(lambda self: "kill" in new_rules and not self.kills)
        @rule(op=ops, slow=st.sampled_from(SLOW_CREATES), kill_after_ms=st.sampled_from((50, 300, 700, 1150)),
              retried=st.booleans(), reconciled=st.booleans())
        def worker_killed_mid_saga(self, op: Operation, slow: str, kill_after_ms: int, retried: bool,
                                   reconciled: bool) -> None:
            """SIGKILL of the webhook's worker while it runs a call (and whatever it had running in the
            background); a new worker starts; Retell may retry the call on it, while another worker's
            reconciler pass (configured grace) may find what the dead worker left."""
            self._new_rule("kill")
            self.kills += 1
            step = Step("ops", faults=[FaultChoice(slow, True)], ops=[op, op] if retried else [op],
                        note=f"worker killed {kill_after_ms} ms into the call and restarted"
                             + (", then Retell's retry" if retried else "")
                             + (", a reconciler pass meanwhile" if reconciled else ""))

            def perform() -> list[str]:
                call_id = self._call_id(op, None)
                with ThreadPoolExecutor(1, thread_name_prefix="caller") as pool:
                    first = pool.submit(self._call, op, call_id, heard=False, may_die=True)
                    time.sleep(kill_after_ms / 1000)
                    self.left_to_reconciler.update(c for _, c in self.sent)
                    stack.kill_core()
                    answers = [first.result(timeout=60)]
                stack.restart_core()
                with ThreadPoolExecutor(1, thread_name_prefix="reconciler") as pool:
                    passed = pool.submit(self._reconcile_after, 0.0) if reconciled else None
                    if retried:
                        answers.append(self._call(op, call_id, heard=True))
                    if passed is not None:
                        passed.result(timeout=120)
                return answers

            self._run(step, perform=perform)

    class BookingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            totals.examples += 1
            stack.reset_mock(seed=next(_seeds))
            stack.wipe_bookings()
            self.history = History()
            self.steps: list[Step] = []
            self.faults: list[FaultChoice] = []
            self.race_window_ms = 0
            if len(race_windows_ms) == 1:
                self.calcom_race_window(race_windows_ms[0])
            self.fault_hits = 0
            self.db_faults_fired = 0
            self.problems: list[str] = []
            self.failed = False
            self.sent: list[tuple[Operation, str]] = []  # every request made, with its call id
            self.ongoing: dict[str, str] = {}  # caller phone → the call id of their latest request
            # Calls whose worker was killed: what they left behind is the reconciler's to find.
            self.left_to_reconciler: set[str] = set()
            self.kills = 0

        # -- what callers do -------------------------------------------------------------------

        # Each step draws the Cal.com faults in force while it runs (often none).

        @rule(op=ops, faults=fault_sets())
        def one_caller(self, op: Operation, faults: list[FaultChoice]) -> None:
            self._run(Step("ops", faults=faults, ops=[op]))

        @rule(batch=st.lists(ops, min_size=2, max_size=4), faults=fault_sets())
        def callers_at_once(self, batch: list[Operation], faults: list[FaultChoice]) -> None:
            self._run(Step("ops", faults=faults, ops=batch, concurrent=True))

        @rule(op=ops, faults=fault_sets())
        def answer_lost_then_retried(self, op: Operation, faults: list[FaultChoice]) -> None:
            """Retell never heard the answer and sends the same call again."""
            self._run(Step("ops", faults=faults, ops=[op], lost_answer=True))

        @rule(wanted=st.sampled_from(slots),
              callers=st.lists(st.sampled_from(CALLERS), min_size=2, max_size=3, unique=True),
              db=st.lists(db_fault, min_size=3, max_size=3), faults=fault_sets())
        def rush_on_one_slot(self, wanted: SalonSlot, callers: list[Caller], db: list[bool],
                             faults: list[FaultChoice]) -> None:
            self._run(Step("ops", faults=faults, concurrent=True,
                           ops=[Book(c, wanted, f) for c, f in zip(callers, db, strict=False)]))

        @rule(pick=st.integers(0, 2**16), change=st.integers(0, 2**16), db=db_fault, faults=fault_sets())
        def caller_changes_their_mind(self, pick: int, change: int, db: bool, faults: list[FaultChoice]) -> None:
            """Cancel or move an appointment a caller was told about (not a random slot). The draws
            never depend on the answers, so hypothesis can replay and shrink the schedule."""
            held = self._holdings() or [(CALLERS[pick % len(CALLERS)], slots[pick % len(slots)])]
            caller, appointment = held[pick % len(held)]
            choices: list[Operation] = [Cancel(caller, appointment)]
            choices += [Reschedule(caller, appointment, new, db) for old, new in moves(slots) if old == appointment]
            self._run(Step("ops", faults=faults, ops=[choices[change % len(choices)]]))


        # -- Cal.com's own race ------------------------------------------------------------------

        @precondition(lambda self: len(race_windows_ms) > 1)
        @rule(ms=st.sampled_from(race_windows_ms))
        def calcom_race_window(self, ms: int) -> None:
            """Cal.com's check-then-insert gap: two creates of one slot may both succeed."""
            stack.configure_mock(race_window_ms=ms)
            self.race_window_ms = ms
            self.steps.append(Step("race_window", race_window_ms=ms))

        # -- judging ---------------------------------------------------------------------------

        @invariant()
        def consistent_after_every_step(self) -> None:
            snapshot = stack.snapshot()
            assert snapshot.appointments is not None
            self._judge(check(self.history.operations) + [
                v.detail for v in calcom_double_bookings(snapshot.bookings)
                + db_double_bookings(snapshot.appointments) + ghosts(snapshot)])

        def teardown(self) -> None:
            self.fault_hits += stack.fault_hits()
            stack.set_faults([])
            stack.configure_mock(race_window_ms=0)
            done = self.history.operations
            totals.operations += len(done)
            totals.faults_injected += self.fault_hits + self.db_faults_fired
            totals.outcomes.update(f"{op.kind} {op.outcome}" for op in done)
            if self.failed:
                return
            if not stack.wait_quiet():
                self.problems.append("Cal.com traffic did not settle within 8 s after the faults were cleared")
            found = self._untracked_orphans(stack.snapshot())
            report = stack.reconcile()
            found += [f"reconcile failed: {error}" for error in report["errors"]]
            snapshot = stack.snapshot()
            self._judge(found + [v.detail for v in find_violations(snapshot)] + check(done, final_state(snapshot)))

        # -- machinery -------------------------------------------------------------------------

        def _run(self, step: Step, perform: Callable[[], list[str]] | None = None) -> None:
            if step.faults != self.faults:
                self.fault_hits += stack.fault_hits()  # the mock's counters restart with new rules
                stack.set_faults([f.rule() for f in step.faults])
                self.faults = step.faults
            self.steps.append(step)
            if perform is not None:
                step.answers = perform()
            elif step.concurrent:
                step.answers = self._concurrently(step.ops, step)
            else:
                ids = step.call_ids or [None] * len(step.ops)
                step.answers = [self._perform(op, step, self._call_id(op, i)) for op, i in zip(step.ops, ids, strict=True)]
            self._judge([])

        def _concurrently(self, batch: list[Operation], step: Step | None = None) -> list[str]:
            ids = [self._call_id(op, None) for op in batch]  # in draw order: replays must pick the same
            with ThreadPoolExecutor(len(batch), thread_name_prefix="caller") as pool:
                return list(pool.map(lambda pair: self._perform(pair[0], step, pair[1]), zip(batch, ids, strict=True)))

        def _call_id(self, op: Operation, given: str | None) -> str:
            call_id = given or f"call_{next(_seeds)}_{op.caller.phone[-2:]}"
            self.sent.append((op, call_id))
            self.ongoing[op.caller.phone] = call_id
            return call_id

        def _perform(self, op: Operation, step: Step | None, call_id: str) -> str:
            lost = step is not None and step.lost_answer
            answer = self._call(op, call_id, heard=not lost)
            if lost:
                answer = self._call(op, call_id, heard=True)
            return answer

        def _staggered(self, requests: list[tuple[Operation, str, bool]], gap_s: float) -> list[str]:
            """The same request sent again `gap_s` after the first, while the first still runs."""
            with ThreadPoolExecutor(len(requests), thread_name_prefix="retell") as pool:
                pending = []
                for index, (op, call_id, heard) in enumerate(requests):
                    if index:
                        time.sleep(gap_s)
                    pending.append(pool.submit(self._call, op, call_id, heard=heard))
                return [p.result(timeout=60) for p in pending]

        def _reconcile_after(self, delay_s: float) -> None:
            time.sleep(delay_s)
            stack.reconcile(grace_s=reconcile_grace_s)  # its errors (Cal.com faults) are not ours to judge

        def _new_rule(self, name: str) -> None:
            with _totals_lock:
                totals.new_rule_steps[name] += 1

        def _call(self, op: Operation, call_id: str, *, heard: bool, may_die: bool = False) -> str:
            name, args = op.request()
            old = op.source.slot if isinstance(op, Reschedule) else None
            labels = [f.label() for f in self.faults] + (["db_confirm"] if op.db_fault else []) + (
                [f"race_window {self.race_window_ms} ms"] if self.race_window_ms else [])
            entry = self.history.invoke(op.caller.phone, op.kind, call_id, op.target.slot, old_slot=old,
                                        faults=labels)
            try:
                answer = stack.call(name, args, call_id=call_id, phone=op.caller.phone,
                                    fault="db_confirm" if op.db_fault else None)
            except httpx.HTTPError as exc:
                self.history.complete(entry, "unknown", error="worker_killed" if may_die else "no_answer")
                if not may_die:
                    self.problems.append(f"the webhook never answered {entry.describe()}: {exc!r}")
                return "no answer"
            totals.latencies.append(answer.elapsed_s)
            if answer.status != 200 or "success" not in answer.body:
                self.history.complete(entry, "unknown", error=f"http_{answer.status}")
                self.problems.append(f"HTTP {answer.status} for {entry.describe()}: {answer.text[:200]}")
                return f"HTTP {answer.status}"
            if op.db_fault and answer.error == "db_unavailable":
                self.db_faults_fired += 1  # the DB is healthy otherwise: the injected confirm failure fired
            if not heard:
                self.history.complete(entry, "unknown", error="answer_lost")
                return "lost"
            self.history.complete(entry, "ok" if answer.success else "fail",
                                  appointment_id=answer.data.get("appointment_id") if answer.success else None,
                                  message=answer.message, error=answer.error)
            return "ok" if answer.success else str(answer.error)

        def _holdings(self) -> list[tuple[Caller, SalonSlot]]:
            """What each caller was told they hold, in answer order."""
            held: list[tuple[Caller, SalonSlot]] = []
            callers = {c.phone: c for c in CALLERS}
            for op in sorted(self.history.operations, key=lambda o: o.answered_at):
                if op.outcome != "ok":
                    continue
                given_up = op.gives_up
                if given_up is not None and (callers[op.caller], by_slot[given_up]) in held:
                    held.remove((callers[op.caller], by_slot[given_up]))
                if op.takes:
                    held.append((callers[op.caller], by_slot[op.slot]))
            return held

        def _untracked_orphans(self, snapshot: Snapshot) -> list[str]:
            """Orphans the core neither compensated nor flagged for the reconciler: only the
            reconciler's full listing would ever find them."""
            rows = stack.sql("SELECT id, status, sync_status, calcom_uid FROM appointments")
            flags = {str(r[0]): (str(r[1]), str(r[2])) for r in rows}
            # A booking moved with Cal.com's reschedule endpoint carries the old booking's metadata;
            # it belongs to the row that holds its uid.
            holder = {str(r[3]): str(r[0]) for r in rows if r[3] and str(r[1]) == "confirmed"}
            found = []
            for booking in snapshot.bookings:
                if not booking.active or not booking.appointment_id:
                    continue
                status, sync = flags.get(holder.get(booking.uid, booking.appointment_id), ("no row", "in_sync"))
                if booking.call_id in self.left_to_reconciler and status in ("pending", "no row"):
                    continue  # a killed worker's or a cut database's call; a row it settled still counts
                if status != "confirmed" and sync == "in_sync":
                    found.append(f"untracked orphan: Cal.com booking {booking.uid} ({booking.host}, "
                                 f"{booking.start:%H:%M} UTC) is active, its appointment is {status} and marked "
                                 "in_sync: the SAGA neither compensated nor flagged it")
            return found

        def _judge(self, found: list[str]) -> None:
            found = self.problems + found
            if not found:
                return
            self.failed = True
            totals.anomalies.extend(found)
            if totals.first_caught_in_example is None:
                totals.first_caught_in_example = totals.examples
            # On the exception itself, not via hypothesis.note(): a concurrency failure that does not
            # replay (Flaky) must still show its schedule.
            error = Anomalies("\n".join(found))
            reproduction = reproduction_yaml(self.steps, found)
            if totals.first_reproduction is None:
                totals.first_reproduction = reproduction
            error.add_note(reproduction)
            error.add_note("history:\n" + "\n".join(
                f"{op.describe()} {op.call_id}" + (f" [{', '.join(op.faults)}]" if op.faults else "")
                for op in self.history.operations))
            error.add_note(self._state_dump())
            raise error

        def _state_dump(self) -> str:
            """Both sides as they were when the anomaly was seen."""
            lines = ["Cal.com ledger (uid, host, start, status history, call):"]
            lines += [f"  {b['uid']} host:{b['hosts'][0]['id']} {b['start']} "
                      f"{'>'.join(h['status'] for h in b['history'])} {b['metadata'].get('call_id')}"
                      for b in stack.ledger()]
            lines.append("appointments (id, resource, start UTC, status, sync, uid, call):")
            lines += [f"  {' '.join(str(v) for v in row)}" for row in stack.sql(
                "SELECT id, resource, start_at, status, sync_status, calcom_uid, call_id FROM appointments")]
            return "\n".join(lines)

    if new_rules:
        return type("BookingMachine", (OptInRules, BookingMachine), {})
    return BookingMachine


_totals_lock = threading.Lock()
# A slow create keeps the SAGA between its intent and its confirm while something else happens.
SLOW_CREATES = ("create_slow", "create_outlives_lock", "create_lands_late", "create_lands_much_later")


def _with(faults: list[FaultChoice], name: str) -> list[FaultChoice]:
    return [f for f in faults if f.name != name] + [FaultChoice(name, True)]
