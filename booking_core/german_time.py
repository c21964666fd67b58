"""When does the caller want to come? German day and time phrases, read in salon context.

`parse_when("morgen um halb drei", now=...)` -> `WhenResult(date, time, window)`, or None when the
text holds nothing date- or time-like. ISO 8601 ("2026-11-25T10:00:00+01:00", "2026-11-25 10:00")
is accepted too and read in Europe/Berlin. The rules, chosen and kept consistent with the corpus
(tests/data/date_phrases.yaml):

Days (always today or later relative to `now`)
- heute / morgen / übermorgen; "in zwei Tagen", "in einer Woche" (+7), "in zwei Wochen";
  "in acht Tagen" is the German idiom for one week (+7), "in vierzehn Tagen" two weeks.
- A weekday ("Dienstag", "am Dienstag", "dienstags") is the next such day strictly after today:
  said on a Tuesday it means next week's Tuesday, unless "heute" is said too.
- "nächsten/kommenden Dienstag" means the same: the next Tuesday that is not today (the reading of
  most callers and of the salon's staff); "übernächsten Dienstag" is a week after that.
- "nächste Woche Mittwoch" / "Mittwoch nächste Woche" is the Wednesday of the next calendar week
  (weeks start on Monday); "nächste Woche" alone is its Monday; "diese Woche Freitag" is this
  week's (or, if already past, next week's).
- "am 3. Dezember", "am dritten Dezember", "am 3.12.", "3.12.2026"; a date without a year that
  has passed this year is next year's (late December about January). "am 5." alone is the next
  5th of a month.
- "Wochenende" is the coming Saturday (the salon is closed on Sundays).
Times
- "15 Uhr", "15:30", "16 Uhr 30", "halb drei" (2:30), "Viertel nach/vor zehn", "dreiviertel
  vier" (3:45), "zehn nach elf", "fünf vor halb drei" (2:25), "gegen vier" (around four: 4:00).
- An hour of 1–12 is read inside business hours: of h and h+12 the one within opening..closing,
  else the one nearer to them. With 9–18 "um drei" is 15:00 and "um acht" 08:00 only if the salon
  opens by 8 — otherwise 20:00 is as far off as 08:00 is not, so it is 08:00 (nearer: 1 h before
  opening vs 2 h after closing). "morgens", "abends" etc. said with the hour decide instead.
- "kurz nach zwei" is a window (14:00–14:15), "kurz vor drei" (14:45–15:00); "ab 15 Uhr",
  "nach 15 Uhr" (15:00–closing), "bis 11", "vor 11" (opening–11:00), "zwischen 14 und 16 Uhr".
- Parts of the day are windows: früh/morgens (opening–11), vormittags (opening–12), mittags
  (12–14), nachmittags (14–closing), abends (17–closing). "morgen früh" is tomorrow's früh window,
  "heute Morgen" today's; "morgen" alone is a day.
- Only a time or a window and no day: today if that time (the window's end) is still ahead of
  `now`, else tomorrow.
- Corrections: "morgen um drei, nein, lieber um vier" keeps the day and takes the later time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as Time
from zoneinfo import ZoneInfo

from booking_core.german_numbers import cardinal, ordinal
from booking_core.german_text import fold

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class WhenResult:
    date: date | None
    time: Time | None  # None when only a day or a part of the day is known
    window: tuple[Time, Time] | None  # "vormittags" and the like; None when a time is known

    def as_datetime(self, tz: ZoneInfo = BERLIN) -> datetime | None:
        """The exact moment, when both a day and a time are known."""
        if self.date is None or self.time is None:
            return None
        return datetime.combine(self.date, self.time, tzinfo=tz)


_MONTHS = {
    "januar": 1, "jan": 1, "janner": 1, "februar": 2, "feb": 2, "marz": 3, "maerz": 3,
    "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8,
    "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11,
    "nov": 11, "dezember": 12, "dez": 12,
}
_WEEKDAYS = {"montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4,
             "samstag": 5, "sonnabend": 5, "sonntag": 6}
_WEEKDAY_WORD = re.compile(r"^(" + "|".join(_WEEKDAYS) + r")s?(morgen|fruh|vormittag|mittag|"
                           r"nachmittag|abend)?s?$")
_NEXT = {"nachsten", "nachste", "nachster", "kommenden", "kommende", "kommender"}
_AFTER_NEXT = {"ubernachsten", "ubernachste", "ubernachster"}
_THIS = {"diesen", "diese", "dieser", "dieses"}
_CORRECTIONS = {"nein", "nee", "sondern", "lieber", "korrektur", "besser", "stattdessen"}
# clock words: "15:30", "15.30", and date words "3.12.", "3.12.2026", "03.12.26"
_TOKEN = re.compile(r"\d{4}-\d{2}-\d{2}[t ]\d{1,2}:\d{2}\S*|\d{1,2}\.\d{1,2}\.(?:\d{2,4})?"
                    r"|\d{1,2}[:.]\d{2}|\d+\.?|[a-z]+")
_FILLERS = {"ahm", "ah", "ahh", "ehm", "em", "hm", "hmm", "mhm", "ohm", "oh", "also", "so"}
_PARTS = ("fruh", "morgens", "morgen", "vormittag", "vormittags", "mittag", "mittags",
          "nachmittag", "nachmittags", "abend", "abends", "mittagszeit", "mittagspause")


@dataclass
class _Found:
    date: date | None = None
    time: Time | None = None
    window: tuple[Time, Time] | None = None
    half_day: str | None = None  # "am"/"pm" said next to an hour ("abends um sieben")
    today_said: bool = False


def parse_when(text: str, now: datetime | None = None, *, opening: Time = Time(9),
               closing: Time = Time(18)) -> WhenResult | None:
    now = _berlin(now)
    iso = _iso(text)
    if iso is not None:
        return iso
    tokens = [t for t in _TOKEN.findall(fold(text).replace("-", " ")) if t not in _FILLERS]
    # corrections: read each part, later parts override what they say
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token in _CORRECTIONS and segments[-1]:
            segments.append([])
        else:
            segments[-1].append(token)
    found = _Found()
    for segment in segments:
        part = _read(segment, now, opening, closing)
        found = _Found(part.date or found.date,
                       part.time or (None if part.window else found.time),
                       part.window or (None if part.time else found.window),
                       part.half_day or found.half_day, part.today_said or found.today_said)
    if found.date is None and found.time is None and found.window is None:
        return None
    day = found.date
    if day is None:
        until = found.time or (found.window[1] if found.window else Time(23, 59))
        day = now.date() if until > now.time().replace(tzinfo=None) else now.date() + timedelta(1)
    return WhenResult(day, found.time, None if found.time else found.window)


def _berlin(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(BERLIN)
    return now.replace(tzinfo=BERLIN) if now.tzinfo is None else now.astimezone(BERLIN)


def _iso(text: str) -> WhenResult | None:
    candidate = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?)?",
                        candidate, re.IGNORECASE):
        return None
    try:
        value = datetime.fromisoformat(candidate.upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    if "t" not in candidate.lower() and " " not in candidate:
        return WhenResult(value.date(), None, None)
    value = value.replace(tzinfo=BERLIN) if value.tzinfo is None else value.astimezone(BERLIN)
    return WhenResult(value.date(), value.time().replace(second=0, microsecond=0), None)


def _read(words: list[str], now: datetime, opening: Time, closing: Time) -> _Found:
    found = _Found()
    found.today_said = "heute" in words
    found.window, found.half_day = _part_of_day(words, opening, closing)
    found.date = _day(words, now.date(), found.today_said)
    soon = _from_now(words, now)
    if soon is not None:
        found.date, found.time = soon.date(), soon.time().replace(second=0, microsecond=0)
        return found
    clock = _clock(words, found.half_day, opening, closing)
    if isinstance(clock, tuple):
        found.window = clock
    elif clock is not None:
        found.time = clock
    return found


# ---------------------------------------------------------------- days

def _from_now(words: list[str], now: datetime) -> datetime | None:
    """"in einer Stunde", "in einer halben Stunde", "in zwanzig Minuten"."""
    for i, w in enumerate(words):
        if w not in {"stunde", "stunden", "minute", "minuten"} or i < 2:
            continue
        before = words[i - 1]
        if before in {"halben", "halbe"} and words[i - 2] in {"einer", "eine"} and \
                i >= 3 and words[i - 3] == "in":
            return now + timedelta(minutes=30)
        if words[i - 2] != "in":
            continue
        count = 1 if before in {"einer", "einem", "eine"} else cardinal(before)
        if count is not None:
            unit = 60 if w.startswith("stunde") else 1
            return now + timedelta(minutes=count * unit)
    return None


def _day(words: list[str], today: date, today_said: bool) -> date | None:
    result: date | None = None
    n = len(words)
    for i, w in enumerate(words):
        before = words[i - 1] if i else ""
        after = words[i + 1] if i + 1 < n else ""
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.(\d{2,4})?", w) or (
                re.fullmatch(r"\d{1,2}\.\d{1,2}", w) and before in {"am", "den", "zum", "vom"}):
            d, m, y = ([*w.split("."), ""])[:3]
            result = _calendar(int(d), int(m), int(y) if y else None, today) or result
        elif w in _MONTHS and after == "den" and i + 2 < n and ordinal(words[i + 2]):
            result = _calendar(ordinal(words[i + 2]) or 0, _MONTHS[w], None, today) or result
        elif w in _MONTHS and i > 0 and (ordinal(before) or cardinal(before)):
            day_no = ordinal(before) or cardinal(before)
            year = int(after) if after.isdigit() and len(after) == 4 else None
            result = _calendar(day_no or 0, _MONTHS[w], year, today) or result
        elif w == "heute":
            result = today
        elif w == "morgen" and before not in {"heute", "gestern", "guten"} \
                and not _is_weekday(before) \
                and not (before == "am" or before == "morgen"):
            result = today + timedelta(1)
        elif w == "ubermorgen":
            result = today + timedelta(2)
        elif w in {"tagen", "tag", "wochen", "woche"} and i >= 2 and words[i - 2] == "in":
            count = 1 if before in {"einer", "einem", "ein", "eine"} else cardinal(before)
            if count is not None:
                if w.startswith("woche"):
                    result = today + timedelta(7 * count)
                else:
                    result = today + timedelta(7 if count == 8 else count)
        elif _is_weekday(w):
            result = _weekday(words, i, today, today_said)
        elif w == "woche" and before in _NEXT | _AFTER_NEXT and not any(
                _is_weekday(x) for x in words):
            weeks = 2 if before in _AFTER_NEXT else 1
            result = today - timedelta(today.weekday()) + timedelta(7 * weeks)
        elif w == "wochenende":
            result = today + timedelta((5 - today.weekday()) % 7)
        elif w in {"am", "den", "zum"} and (ordinal(after) is not None) and not any(
                x in _MONTHS for x in words) and (i + 2 >= n or words[i + 2] != "uhr"):
            day_no = ordinal(after)
            if day_no and 1 <= day_no <= 31 and (after.endswith(".") or not after.isdigit()):
                result = _next_day_of_month(day_no, today) or result
    return result


def _is_weekday(word: str) -> bool:
    return bool(_WEEKDAY_WORD.match(word))


def _weekday(words: list[str], i: int, today: date, today_said: bool) -> date:
    target = _WEEKDAYS[_WEEKDAY_WORD.match(words[i]).group(1)]  # type: ignore[union-attr]
    window = words[max(0, i - 3): i + 4]
    this_monday = today - timedelta(today.weekday())
    week_words = [(j, x) for j, x in enumerate(window) if x == "woche"]
    if week_words:
        j = week_words[0][0]
        qualifier = window[j - 1] if j else ""
        if qualifier in _NEXT | _AFTER_NEXT:
            weeks = 2 if qualifier in _AFTER_NEXT else 1
            return this_monday + timedelta(7 * weeks + target)
        if qualifier in _THIS:
            day = this_monday + timedelta(target)
            return day if day >= today else day + timedelta(7)
    ahead = (target - today.weekday()) % 7
    if ahead == 0 and not today_said:
        ahead = 7
    if i > 0 and words[i - 1] in _AFTER_NEXT:
        ahead += 7
    return today + timedelta(ahead)


def _calendar(day: int, month: int, year: int | None, today: date) -> date | None:
    if year is not None and year < 100:
        year += 2000
    try:
        value = date(year or today.year, month, day)
    except ValueError:
        return None
    if year is None and value < today:
        try:
            value = value.replace(year=today.year + 1)
        except ValueError:
            return None
    return value


def _next_day_of_month(day: int, today: date) -> date | None:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            value = date(year, month, day)
        except ValueError:
            value = None
        if value is not None and value >= today:
            return value
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return None


# ---------------------------------------------------------------- parts of the day

def _part_of_day(words: list[str], opening: Time, closing: Time
                 ) -> tuple[tuple[Time, Time] | None, str | None]:
    window: tuple[Time, Time] | None = None
    half: str | None = None
    early = (opening, max(Time(11), opening))
    for i, w in enumerate(words):
        before = words[i - 1] if i else ""
        weekday_part = _WEEKDAY_WORD.match(w)
        if weekday_part and weekday_part.group(2):
            w = weekday_part.group(2)
        if w in {"fruh", "fruhs", "morgens"} or (w == "morgen" and (
                before in {"heute", "am", "morgen"} or _is_weekday(before) or weekday_part)):
            window, half = early, "am"
        elif w in {"vormittag", "vormittags"}:
            window, half = (opening, Time(12)), "am"
        elif w in {"mittag", "mittags", "mittagszeit", "mittagspause"} and before != "nach":
            window, half = (Time(12), Time(14)), "noon"
        elif w in {"nachmittag", "nachmittags"} or (w == "mittag" and before == "nach"):
            window, half = (Time(14), closing), "pm"
        elif (w in {"abend", "abends", "feierabend"} and before != "guten") or (
                w == "arbeit" and words[max(0, i - 2)] == "nach"):
            window, half = (min(Time(17), closing), closing), "pm"
        else:
            continue
        # "am frühen Nachmittag", "am späten Vormittag": one half of it
        if before.startswith(("fruh", "spat")) and before not in {"fruh", "fruhs"} and window:
            start, end = (datetime.combine(date.min, t) for t in window)
            middle = (start + (end - start) / 2).time()
            window = (window[0], middle) if before.startswith("fruh") else (middle, window[1])
    return window, half


# ---------------------------------------------------------------- clock

def _clock(words: list[str], half: str | None, opening: Time, closing: Time
           ) -> Time | tuple[Time, Time] | None:
    """The last time said, or a window for "kurz nach zwei", "ab 15 Uhr", "zwischen 14 und 16"."""
    result: Time | tuple[Time, Time] | None = None
    n = len(words)
    i = 0

    def hour_at(j: int) -> int | None:
        if j >= n:
            return None
        w = words[j].rstrip(".")
        value = cardinal(w)
        if value is None and w in {"ein", "eine", "einer"} and j + 1 < n and words[j + 1] == "uhr":
            value = 1
        return value if value is not None and 0 <= value <= 24 else None

    def read(h: int, m: int = 0, explicit: bool = False) -> Time | None:
        return _business_hour(h, m, half, opening, closing, explicit)

    while i < n:
        w = words[i]
        nxt = words[i + 1] if i + 1 < n else ""
        m_clock = re.fullmatch(r"(\d{1,2})[:.](\d{2})", w)
        if m_clock and int(m_clock.group(2)) < 60 and (
                ":" in w or nxt == "uhr" or (i and words[i - 1] in {"um", "gegen", "ab", "bis"})):
            h, m = int(m_clock.group(1)), int(m_clock.group(2))
            result = _windowed(words, i, read(h, m, h > 12), opening, closing) or result
            i += 1
            continue
        if w == "halb" and hour_at(i + 1) is not None:
            h = hour_at(i + 1)
            result = read((h - 1) % 12 or 12, 30) or result  # type: ignore[operator]
            i += 2
            continue
        if w in {"viertel", "dreiviertel"} or (w == "drei" and nxt == "viertel"):
            if w == "drei":
                i += 1
                w = "dreiviertel"
            after = words[i + 1] if i + 1 < n else ""
            if after in {"nach", "vor"} and hour_at(i + 2) is not None:
                h = hour_at(i + 2)
                t = (h, 15) if after == "nach" else ((h - 1) % 12 or 12, 45)  # type: ignore
                result = read(*t) or result
                i += 3
                continue
            if hour_at(i + 1) is not None:
                h = hour_at(i + 1)
                m = 45 if w == "dreiviertel" else 15
                result = read((h - 1) % 12 or 12, m) or result  # type: ignore[operator]
                i += 2
                continue
        minutes = cardinal(w)
        if minutes is not None and 1 <= minutes <= 29 and nxt in {"nach", "vor"} and \
                i + 2 < n and words[i + 2] != "uhr":
            if words[i + 2] == "halb" and hour_at(i + 3) is not None:
                h = (hour_at(i + 3) - 1) % 12 or 12  # type: ignore[operator]
                m = 30 + minutes if nxt == "nach" else 30 - minutes
                result = read(h, m) or result
                i += 4
                continue
            if hour_at(i + 2) is not None and words[i + 2] not in _MONTHS:
                h = hour_at(i + 2)
                t = (h, minutes) if nxt == "nach" else ((h - 1) % 12 or 12, 60 - minutes)
                result = read(*t) or result  # type: ignore[arg-type]
                i += 3
                continue
        if w == "kurz" and nxt in {"nach", "vor"} and hour_at(i + 2) is not None:
            h = hour_at(i + 2)
            at = read(h)  # type: ignore[arg-type]
            if at is not None:
                start = datetime.combine(date.min, at)
                result = (at, (start + timedelta(minutes=15)).time()) if nxt == "nach" else (
                    (start - timedelta(minutes=15)).time(), at)
            i += 3
            continue
        if w == "zwischen" and hour_at(i + 1) is not None:
            j = i + 2 + (words[i + 2] == "uhr" if i + 2 < n else 0)
            if j + 1 < n and words[j] == "und" and hour_at(j + 1) is not None:
                a, b = read(hour_at(i + 1)), read(hour_at(j + 1))  # type: ignore[arg-type]
                if a and b:
                    result = (a, b) if a < b else (b, a)
                i = j + 2
                continue
        h = hour_at(i)
        if h is not None and _is_hour_context(words, i):
            m = 0
            j = i + 1
            if nxt == "uhr":
                j = i + 2
                minute = cardinal(words[j]) if j < n else None
                if minute is not None and 0 <= minute < 60 and (j + 1 >= n or words[j + 1] not in
                                                                  {"uhr", "nach", "vor"}):
                    m = minute
                    j += 1
            at = read(h, m, h > 12 or (nxt == "uhr" and h == 0))
            result = _windowed(words, i, at, opening, closing) or result
            i = j
            continue
        i += 1
    return result


def _is_hour_context(words: list[str], i: int) -> bool:
    before = words[i - 1] if i else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    if after in _MONTHS or after in {"tage", "tagen", "wochen", "woche", "minuten", "stunden",
                                     "monate", "monaten", "jahre", "leute", "personen"}:
        return False
    return after == "uhr" or before in {"um", "gegen", "ab", "bis", "vor", "nach", "punkt", "so",
                                        "ca", "circa", "etwa", "zirka", "ungefahr"}


def _windowed(words: list[str], i: int, at: Time | None, opening: Time, closing: Time
              ) -> Time | tuple[Time, Time] | None:
    """"ab 15 Uhr"/"nach 15 Uhr" and "bis 11"/"vor 11" open a window; else the time itself."""
    if at is None:
        return None
    before = words[i - 1] if i else ""
    if before in {"ab", "nach"}:
        return (at, closing) if at < closing else at
    if before in {"bis", "vor"}:
        return (opening, at) if at > opening else at
    return at


def _business_hour(h: int, m: int, half: str | None, opening: Time, closing: Time,
                   explicit: bool) -> Time | None:
    if not (0 <= h <= 24 and 0 <= m < 60):
        return None
    if explicit or h > 12:
        return Time(h % 24, m)
    if half == "am":
        return Time(h % 12, m)
    if half in {"pm", "noon"}:
        return Time(h % 12 + 12, m) if h != 12 else Time(12, m)
    options = [Time(h % 12, m), Time(h % 12 + 12, m)] if h != 12 else [Time(12, m)]

    def distance(t: Time) -> int:
        minutes = t.hour * 60 + t.minute
        lo, hi = opening.hour * 60 + opening.minute, closing.hour * 60 + closing.minute
        return 0 if lo <= minutes < hi else min(abs(minutes - lo), abs(minutes - hi))

    return min(options, key=distance)

