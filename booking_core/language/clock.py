"""What time a caller means: "halb drei", "Viertel vor vier", "kurz nach zwei", "vormittags".

Words arrive folded (`text.fold`); hours are read inside business hours. The rules are
documented in `when`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from datetime import time as Time

from booking_core.language.days import MONTHS, WEEKDAY_WORD, is_weekday
from booking_core.language.numbers import cardinal

# Any day with room on both sides: clock arithmetic around midnight must not leave the calendar.
_ANY_DAY = date(2000, 1, 2)


def read_part_of_day(words: list[str], opening: Time, closing: Time,
                     used: set[int] | None = None,
                     ) -> tuple[tuple[Time, Time] | None, str | None]:
    window: tuple[Time, Time] | None = None
    half: str | None = None
    early = (opening, max(Time(11), opening))
    for i, w in enumerate(words):
        before = words[i - 1] if i else ""
        weekday_part = WEEKDAY_WORD.match(w)
        if weekday_part and weekday_part.group(2):
            w = weekday_part.group(2)
        if w in {"fruh", "fruhs", "morgens"} or (w == "morgen" and (
                before in {"heute", "am", "morgen"} or is_weekday(before) or weekday_part)):
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
        if used is not None:
            used.add(i)
            if before.startswith(("fruh", "spat")):
                used.add(i - 1)
        # "am frühen Nachmittag", "am späten Vormittag": one half of it
        if before.startswith(("fruh", "spat")) and before not in {"fruh", "fruhs"} and window:
            start, end = (datetime.combine(_ANY_DAY, t) for t in window)
            middle = (start + (end - start) / 2).time()
            window = (window[0], middle) if before.startswith("fruh") else (middle, window[1])
    return window, half


def read_clock(words: list[str], half: str | None, opening: Time, closing: Time,
               used: set[int] | None = None, problems: list[tuple[str, str]] | None = None,
               ) -> Time | tuple[Time, Time] | None:
    """The last time said, or a window for "kurz nach zwei", "ab 15 Uhr", "zwischen 14 und 16".
    The words a time took go into `used`; a time no clock shows ("25:00") into `problems`."""
    result: Time | tuple[Time, Time] | None = None
    n = len(words)
    i = 0
    used = set() if used is None else used
    problems = [] if problems is None else problems
    taken_from: int | None = None
    impossible = False
    said_times: list[Time | tuple[Time, Time]] = []

    def hour_at(j: int) -> int | None:
        if j >= n:
            return None
        w = words[j].rstrip(".")
        value = cardinal(w)
        if value is None and w in {"ein", "eine", "einer"} and j + 1 < n and words[j + 1] == "uhr":
            value = 1
        return value if value is not None and 0 <= value <= 24 else None

    def read(h: int, m: int = 0, explicit: bool = False) -> Time | None:
        nonlocal impossible
        at = _business_hour(h, m, half, opening, closing, explicit)
        impossible = impossible or at is None
        return at

    def settle(upto: int) -> None:
        nonlocal impossible
        if taken_from is not None:
            used.update(range(taken_from, upto))
            if impossible:
                problems.append(("impossible_time", " ".join(words[taken_from:upto])))
            elif result is not None and (not said_times or said_times[-1] is not result):
                said_times.append(result)
        impossible = False

    while i < n:
        settle(i)
        taken_from = start = i

        def said(at: Time | None, start: int = start) -> Time | tuple[Time, Time] | None:
            # "ab halb drei", "bis Viertel nach zehn": the word before the time decides
            return _windowed(words, start, at, opening, closing)

        w = words[i]
        nxt = words[i + 1] if i + 1 < n else ""
        m_clock = re.fullmatch(r"(\d{1,2})[:.](\d{2})", w)
        # "15.30" is a time when it can't be a date or is said as one ("um 10.15")
        if m_clock and int(m_clock.group(2)) < 60 and (
                ":" in w or nxt == "uhr" or int(m_clock.group(2)) > 12
                or (i and words[i - 1] in {"um", "gegen", "ab", "bis"})):
            h, m = int(m_clock.group(1)), int(m_clock.group(2))
            result = _windowed(words, i, read(h, m, h > 12), opening, closing) or result
            i += 2 if nxt == "uhr" else 1
            continue
        if w == "halb" and (half_of := hour_at(i + 1)) is not None:
            result = said(read((half_of - 1) % 12 or 12, 30)) or result
            i += 2
            continue
        if w in {"viertel", "dreiviertel"} or (w in {"drei", "3"} and nxt == "viertel"):
            if w in {"drei", "3"}:
                i += 1
                w = "dreiviertel"
            after = words[i + 1] if i + 1 < n else ""
            if after in {"nach", "vor"} and (quarter_of := hour_at(i + 2)) is not None:
                t = (quarter_of, 15) if after == "nach" else ((quarter_of - 1) % 12 or 12, 45)
                result = said(read(*t)) or result
                i += 3
                continue
            if (quarter_of := hour_at(i + 1)) is not None:
                m = 45 if w == "dreiviertel" else 15
                result = said(read((quarter_of - 1) % 12 or 12, m)) or result
                i += 2
                continue
        minutes = cardinal(w)
        if minutes is not None and 1 <= minutes <= 29 and nxt in {"nach", "vor"} and \
                i + 2 < n and words[i + 2] != "uhr":
            if words[i + 2] == "halb" and (half_of := hour_at(i + 3)) is not None:
                h = (half_of - 1) % 12 or 12
                m = 30 + minutes if nxt == "nach" else 30 - minutes
                result = said(read(h, m)) or result
                i += 4
                continue
            if (minutes_of := hour_at(i + 2)) is not None and words[i + 2] not in MONTHS:
                t = (minutes_of, minutes) if nxt == "nach" else (
                    (minutes_of - 1) % 12 or 12, 60 - minutes)
                result = said(read(*t)) or result
                i += 3
                continue
        if w == "kurz" and nxt in {"nach", "vor"} and (near := hour_at(i + 2)) is not None:
            at = read(near)
            if at is not None:
                moment = datetime.combine(_ANY_DAY, at)
                result = (at, (moment + timedelta(minutes=15)).time()) if nxt == "nach" else (
                    (moment - timedelta(minutes=15)).time(), at)
            i += 4 if i + 3 < n and words[i + 3] == "uhr" else 3
            continue
        if w == "zwischen" and (first := hour_at(i + 1)) is not None:
            j = i + 2 + (words[i + 2] == "uhr" if i + 2 < n else 0)
            if j + 1 < n and words[j] == "und" and (last := hour_at(j + 1)) is not None:
                a, b = read(first), read(last)
                if a and b:
                    result = (a, b) if a < b else (b, a)
                i = j + 2 + (j + 2 < n and words[j + 2] == "uhr")
                continue
        spoken = hour_at(i)
        if spoken is not None and _is_hour_context(words, i):
            m = 0
            j = i + 1
            if nxt == "uhr":
                j = i + 2
                minute = cardinal(words[j]) if j < n else None
                if minute is not None and 0 <= minute < 60 and (j + 1 >= n or words[j + 1] not in
                                                                  {"uhr", "nach", "vor"}):
                    m = minute
                    j += 1
            at = read(spoken, m, spoken > 12 or (nxt == "uhr" and spoken == 0))
            result = _windowed(words, i, at, opening, closing) or result
            i = j
            continue
        taken_from = None
        i += 1
    settle(i)
    if len(set(said_times)) > 1:
        first_said, last_said = said_times[0], said_times[-1]
        if len(said_times) == 2 and isinstance(first_said, tuple) and isinstance(last_said, tuple) \
                and first_said[1] == closing and last_said[0] == opening and first_said[0] < last_said[1]:
            return first_said[0], last_said[1]  # "ab 15 bis 17 Uhr"
        choice = "oder" in words  # "um drei oder um vier": the caller leaves it open
        problems.append(("choice" if choice else "conflict", (" oder " if choice else " und ").join(
            _spoken(t) for t in dict.fromkeys(said_times))))
    return result


def _spoken(at: Time | tuple[Time, Time]) -> str:
    if isinstance(at, tuple):
        return f"{_spoken(at[0])} bis {_spoken(at[1])}"
    return f"{at.hour}:{at.minute:02d} Uhr" if at.minute else f"{at.hour} Uhr"


def _is_hour_context(words: list[str], i: int) -> bool:
    before = words[i - 1] if i else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    if after in MONTHS or after in {"tage", "tagen", "wochen", "woche", "minuten", "stunden",
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
    if half == "noon" and h in (11, 12):
        return Time(h, m)  # "halb zwölf mittags" is 11:30, not 23:30
    if half in {"pm", "noon"}:
        return Time(h % 12 + 12, m) if h != 12 else Time(12, m)
    options = [Time(h % 12, m), Time(h % 12 + 12, m)] if h != 12 else [Time(12, m)]

    def distance(t: Time) -> int:
        minutes = t.hour * 60 + t.minute
        lo, hi = opening.hour * 60 + opening.minute, closing.hour * 60 + closing.minute
        return 0 if lo <= minutes < hi else min(abs(minutes - lo), abs(minutes - hi))

    return min(options, key=distance)

