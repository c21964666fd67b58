"""Which day a caller means: "übermorgen", "nächste Woche Mittwoch", "am dritten Dezember".

Words arrive folded (`german_text.fold`); the rules are documented in `german_time`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from booking_core.german_numbers import cardinal, ordinal

MONTHS = {
    "januar": 1, "jan": 1, "janner": 1, "februar": 2, "feb": 2, "marz": 3, "maerz": 3,
    "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8,
    "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11,
    "nov": 11, "dezember": 12, "dez": 12,
}
_WEEKDAYS = {"montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4,
             "samstag": 5, "sonnabend": 5, "sonntag": 6}
WEEKDAY_WORD = re.compile(r"^(" + "|".join(_WEEKDAYS) + r")s?(morgen|fruh|vormittag|mittag|"
                           r"nachmittag|abend)?s?$")
_NEXT = {"nachsten", "nachste", "nachster", "kommenden", "kommende", "kommender"}
_AFTER_NEXT = {"ubernachsten", "ubernachste", "ubernachster"}
_THIS = {"diesen", "diese", "dieser", "dieses"}

def from_now(words: list[str], now: datetime) -> datetime | None:
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


def read_day(words: list[str], today: date, today_said: bool) -> date | None:
    result: date | None = None
    relative_day = False
    n = len(words)
    for i, w in enumerate(words):
        before = words[i - 1] if i else ""
        after = words[i + 1] if i + 1 < n else ""
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.(\d{2,4})?", w) or (
                re.fullmatch(r"\d{1,2}\.\d{1,2}", w) and before in {"am", "den", "zum", "vom"}):
            d, m, y = ([*w.split("."), ""])[:3]
            result = _calendar(int(d), int(m), int(y) if y else None, today) or result
        elif w in MONTHS and after == "den" and i + 2 < n and ordinal(words[i + 2]):
            result = _calendar(ordinal(words[i + 2]) or 0, MONTHS[w], None, today) or result
        elif w in MONTHS and i > 0 and (ordinal(before) or cardinal(before)):
            day_no = ordinal(before) or cardinal(before)
            year = int(after) if after.isdigit() and len(after) == 4 else None
            result = _calendar(day_no or 0, MONTHS[w], year, today) or result
        elif w == "heute":
            result, relative_day = today, True
        elif w == "morgen" and before not in {"heute", "gestern", "guten"} \
                and not is_weekday(before) \
                and not (before == "am" or before == "morgen"):
            result, relative_day = today + timedelta(1), True
        elif w == "ubermorgen":
            result, relative_day = today + timedelta(2), True
        elif w in {"tagen", "tag", "wochen", "woche"} and i >= 2 and words[i - 2] == "in" and \
                not (w.startswith("woche") and any(is_weekday(x) for x in words)):
            count = 1 if before in {"einer", "einem", "ein", "eine"} else cardinal(before)
            # "morgen in einer Woche" counts from the day just said
            base = result if result is not None and relative_day else today
            if count is not None:
                if w.startswith("woche"):
                    result = base + timedelta(7 * count)
                else:
                    result = base + timedelta(7 if count == 8 else count)
        elif is_weekday(w):
            result = _weekday(words, i, today, today_said)
        elif w == "woche" and before in _NEXT | _AFTER_NEXT and not any(
                is_weekday(x) for x in words):
            weeks = 2 if before in _AFTER_NEXT else 1
            result = today - timedelta(today.weekday()) + timedelta(7 * weeks)
        elif w == "wochenende":
            result = today + timedelta((5 - today.weekday()) % 7)
        elif w in {"am", "den", "zum"} and (ordinal(after) is not None) and not any(
                x in MONTHS for x in words) and (i + 2 >= n or words[i + 2] != "uhr"):
            day_no = ordinal(after)
            if day_no and 1 <= day_no <= 31 and (after.endswith(".") or not after.isdigit()):
                result = _next_day_of_month(day_no, today) or result
    return result


def is_weekday(word: str) -> bool:
    return bool(WEEKDAY_WORD.match(word))


def _weekday(words: list[str], i: int, today: date, today_said: bool) -> date:
    named = WEEKDAY_WORD.match(words[i])
    if named is None:
        raise ValueError(f"not a weekday: {words[i]!r}")  # callers check `is_weekday` first
    target = _WEEKDAYS[named.group(1)]
    window = words[max(0, i - 3): i + 4]
    this_monday = today - timedelta(today.weekday())
    week_words = [(j, x) for j, x in enumerate(window) if x in {"woche", "wochen"}]
    if week_words:
        j = week_words[0][0]
        qualifier = window[j - 1] if j else ""
        if j >= 2 and window[j - 2] == "in":
            # "Donnerstag in einer Woche": that weekday of the week N weeks from today
            count = 1 if qualifier in {"einer", "einem", "eine"} else cardinal(qualifier)
            if count:
                return this_monday + timedelta(7 * count + target)
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


