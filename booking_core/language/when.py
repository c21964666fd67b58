"""When does the caller want to come? German day and time phrases, read in salon context.

`parse_when("morgen um halb drei", now=...)` -> `WhenResult(date, time, window)`, or None when the
text holds nothing date- or time-like. ISO 8601 ("2026-11-25T10:00:00+01:00", "2026-11-25 10:00")
is accepted too and read in Europe/Berlin. The rules, chosen and kept consistent with the corpus
(tests/data/date_phrases.yaml):

Days (always today or later relative to `now`)
- heute / morgen / übermorgen; "in zwei Tagen", "in einer Woche" (+7), "in zwei Wochen",
  counted from today or from the day just said ("morgen in einer Woche");
  "in acht Tagen" is the German idiom for one week (+7), "in vierzehn Tagen" two weeks.
- A weekday ("Dienstag", "am Dienstag", "dienstags") is the next such day strictly after today:
  said on a Tuesday it means next week's Tuesday, unless "heute" is said too.
- "nächsten/kommenden Dienstag" means the same: the next Tuesday that is not today (the reading of
  most callers and of the salon's staff); "übernächsten Dienstag" is a week after that.
- "nächste Woche Mittwoch" / "Mittwoch nächste Woche" is the Wednesday of the next calendar week
  (weeks start on Monday); "nächste Woche" alone is its Monday; "diese Woche Freitag" is this
  week's (or, if already past, next week's); "Donnerstag in einer Woche" is the Thursday of the
  calendar week a week from today.
- "am 3. Dezember", "am dritten Dezember", "am 3.12.", "3.12.2026"; a date without a year that
  has passed this year is next year's (late December about January). "am 5." alone is the next
  5th of a month.
- "Wochenende" is the coming Saturday (the salon is closed on Sundays).
Times
- "15 Uhr", "15:30", "15.30" (a dotted pair is a time when it can't be a date or follows "um"),
  "16 Uhr 30", "halb drei" (2:30), "Viertel nach/vor zehn", "dreiviertel
  vier" (3:45), "zehn nach elf", "fünf vor halb drei" (2:25), "gegen vier" (around four: 4:00).
- An hour of 1–12 is read inside business hours: of h and h+12 the one within opening..closing,
  else the one nearer to them. With 9–18, "um drei" is 15:00 and "um sieben" 19:00 (1 h after
  closing beats 2 h before opening); "um acht" is 08:00 (1 h before opening) and, for a salon
  opening at 8, inside its hours. "morgens", "abends" etc. said with the hour decide instead.
- "ab"/"nach" before a time opens a window to closing, "bis"/"vor" one from opening.
- "kurz nach zwei" is a window (14:00–14:15), "kurz vor drei" (14:45–15:00); "ab 15 Uhr",
  "nach 15 Uhr" (15:00–closing), "bis 11", "vor 11" (opening–11:00), "zwischen 14 und 16 Uhr".
- Parts of the day are windows: früh/morgens (opening–11), vormittags (opening–12), mittags
  (12–14), nachmittags (14–closing), abends (17–closing). "morgen früh" is tomorrow's früh window,
  "heute Morgen" today's; "morgen" alone is a day.
- Only a time or a window and no day: today if that time (the window's end) is still ahead of
  `now`, else tomorrow.
- Corrections: "morgen um drei, nein, lieber um vier" keeps the day and takes the later time.

Never silently wrong (issue 16): a phrase whose date or time words cannot all be placed reads as
`unclear` with a reason and the words (no date): an impossible date ("30. Februar", "31.4."), an
impossible time ("25 Uhr", "14:75"), a misheard day word ("Dinstag", "Geburtstag"), days or times
that disagree ("Dienstag, den 2.12." when the 2nd is a Wednesday, "um drei oder um vier"), a
season of days ("an Weihnachten", "nach Ostern"), the past ("gestern"), or a word no rule uses
("in zwei Monaten", "im Dezember"). A later correction replaces an unclear part.
More forms
- "in N Wochen am Dienstag" = "Dienstag in N Wochen"; "Anfang/Mitte/Ende (der) nächsten Woche"
  are Mo–Di, Mi–Do, Fr–Sa of that week (`days`; `date` is the first of them);
  "(über)nächstes Wochenende" its Saturday.
- Named days ("Heiligabend", "Ostermontag", "Tag der Deutschen Einheit", "Fronleichnam", …) are
  their next date (`holidays`), with a year if one is said.
- Regional clock forms: "viertel drei" (2:15), "drei viertel sechs" (5:45), "zehn vor halb fünf".

Days are read in `days`, times and parts of the day in `clock`, named days in
`holidays`; `when_words` finds the date and time words no reader used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as Time
from zoneinfo import ZoneInfo

from booking_core.language.clock import read_clock, read_part_of_day
from booking_core.language.days import from_now, read_day
from booking_core.language.text import fold
from booking_core.language.when_words import unplaced as _unplaced

_Day = date  # the results below have a field named `date`

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class WhenResult:
    date: date | None
    time: Time | None  # None when only a day or a part of the day is known
    window: tuple[Time, Time] | None  # "vormittags" and the like; None when a time is known
    # Why the phrase could not be read, when it could not ("impossible_date", "impossible_time",
    # "unknown_word", "conflict", "choice", "vague_day", "in_past", "unplaced"): then date, time and
    # window are None, never a guess.
    unclear: str | None = None
    said: str = ""  # the words that were unclear, as the caller said them
    days: tuple[_Day, _Day] | None = None  # "Ende nächster Woche": the stretch `date` opens
    holiday: str | None = None  # the named day that placed `date` ("Heiligabend")
    heard: tuple[str, ...] = field(default=(), compare=False)  # the date/time words it used

    def as_datetime(self, tz: ZoneInfo = BERLIN) -> datetime | None:
        """The exact moment, when both a day and a time are known."""
        if self.date is None or self.time is None:
            return None
        return datetime.combine(self.date, self.time, tzinfo=tz)


def unclear(reason: str, said: str) -> WhenResult:
    return WhenResult(None, None, None, unclear=reason, said=said)


_CORRECTIONS = {"nein", "nee", "sondern", "lieber", "korrektur", "besser", "stattdessen"}
# clock words: "15:30", "15.30", and date words "3.12.", "3.12.2026", "03.12.26"
_TOKEN = re.compile(r"\d{4}-\d{2}-\d{2}[t ]\d{1,2}:\d{2}\S*|\d{1,2}\.\d{1,2}\.(?:\d{2,4})?"
                    r"|\d{1,2}[:.]\d{2}|\d+\.?|[a-z]+")
_FILLERS = {"ahm", "ah", "ahh", "ehm", "em", "hm", "hmm", "mhm", "ohm", "oh", "also", "so"}
# A phrase of any length is read in time linear in it; beyond this many words it is no wish.
_MAX_WORDS = 80


@dataclass
class _Found:
    date: date | None = None
    time: Time | None = None
    window: tuple[Time, Time] | None = None
    half_day: str | None = None  # "am"/"pm" said next to an hour ("abends um sieben")
    today_said: bool = False
    used: set[int] = field(default_factory=set)
    problem: tuple[str, str] | None = None
    days: tuple[_Day, _Day] | None = None
    holiday: str | None = None


def parse_when(text: str, now: datetime | None = None, *, opening: Time = Time(9),
               closing: Time = Time(18)) -> WhenResult | None:
    """The day and time in `text`; None when it holds nothing date- or time-like; a reading
    with `unclear` set (and no date) when it holds date or time words that cannot be placed."""
    now = _berlin(now)
    try:
        return _parse(text, now, opening, closing)
    except OverflowError:  # "in 3000000 Tagen": no calendar holds it
        return unclear("impossible_date", text.strip()[:60])


def _parse(text: str, now: datetime, opening: Time, closing: Time) -> WhenResult | None:
    if _ISO_SHAPE.fullmatch(text.strip()):
        # ISO-shaped text is read as ISO or not at all: "2026-02-30T10:00" must not become "10 Uhr".
        return _iso(text)
    tokens = [t for t in _TOKEN.findall(fold(text).replace("-", " ")) if t not in _FILLERS]
    if len(tokens) > _MAX_WORDS:
        return unclear("too_long", "")
    # corrections: read each part, later parts override what they say
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token in _CORRECTIONS and segments[-1]:
            segments.append([])
        else:
            segments[-1].append(token)
    found = _Found()
    problem: tuple[str, str] | None = None
    heard: list[str] = []
    for segment in segments:
        part = _read(segment, now, opening, closing)
        if part.problem is None:
            part.problem = _unplaced(segment, part.used)
        if part.date or part.time or part.window:
            problem = None  # a later part corrects what an earlier one left unclear
        problem = part.problem or problem
        heard += [segment[i] for i in sorted(part.used)]
        found = _Found(part.date or found.date,
                       part.time or (None if part.window else found.time),
                       part.window or (None if part.time else found.window),
                       part.half_day or found.half_day, part.today_said or found.today_said,
                       days=part.days if part.date else found.days,
                       holiday=part.holiday if part.date else found.holiday)
    if problem is not None:
        return unclear(problem[0], _as_said(text, problem[1]))
    if found.date is None and found.time is None and found.window is None:
        return None
    day = found.date
    if day is None:
        until = found.time or (found.window[1] if found.window else Time(23, 59))
        day = now.date() if until > now.time().replace(tzinfo=None) else now.date() + timedelta(1)
    return WhenResult(day, found.time, None if found.time else found.window,
                      days=found.days, holiday=found.holiday, heard=tuple(heard))
def _as_said(text: str, folded: str) -> str:
    """`folded` words in the caller's own spelling ("ubermorgen" -> "übermorgen")."""
    spelled = {fold(w): w for w in re.findall(r"[^\W_]+", text)}
    return " ".join(spelled.get(w, w) for w in folded.split(" "))


def _berlin(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(BERLIN)
    return now.replace(tzinfo=BERLIN) if now.tzinfo is None else now.astimezone(BERLIN)


_ISO_SHAPE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([t ]\S*)?", re.IGNORECASE)


def _iso(text: str) -> WhenResult | None:
    candidate = text.strip()
    try:
        value = datetime.fromisoformat(candidate.upper().replace("Z", "+00:00"))
    except ValueError:
        return unclear("impossible_date", candidate[:40])
    if "t" not in candidate.lower() and " " not in candidate:
        return WhenResult(value.date(), None, None)
    value = value.replace(tzinfo=BERLIN) if value.tzinfo is None else value.astimezone(BERLIN)
    return WhenResult(value.date(), value.time().replace(second=0, microsecond=0), None)


def _read(words: list[str], now: datetime, opening: Time, closing: Time) -> _Found:
    found = _Found()
    found.today_said = "heute" in words
    found.window, found.half_day = read_part_of_day(words, opening, closing, found.used)
    day = read_day(words, now.date(), found.today_said)
    found.date, found.problem, found.days, found.holiday = (day.date, day.problem, day.days,
                                                            day.holiday)
    found.used |= day.used
    soon = from_now(words, now)
    if soon is not None:
        moment, took = soon
        found.used.update(took)
        found.date, found.time = moment.date(), moment.time().replace(second=0, microsecond=0)
        return found
    problems: list[tuple[str, str]] = []
    clock = read_clock(words, found.half_day, opening, closing, found.used, problems)
    found.problem = found.problem or (problems[0] if problems else None)
    if isinstance(clock, tuple):
        found.window = clock
    elif clock is not None:
        found.time = clock
    return found


