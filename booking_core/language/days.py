"""Which day a caller means: "übermorgen", "nächste Woche Mittwoch", "am dritten Dezember".

Words arrive folded (`text.fold`); the rules are documented in `when`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from booking_core.language.holidays import HOLIDAY_WORDS, VAGUE_DAYS, named_in, read_named_day
from booking_core.language.numbers import cardinal, ordinal

_Day = date  # a class below has a field named `date`

MONTHS = {
    "januar": 1, "jan": 1, "janner": 1, "februar": 2, "feb": 2, "marz": 3, "maerz": 3,
    "april": 4, "apr": 4, "mai": 5, "juni": 6, "jun": 6, "juli": 7, "jul": 7, "august": 8,
    "aug": 8, "september": 9, "sep": 9, "sept": 9, "oktober": 10, "okt": 10, "november": 11,
    "nov": 11, "dezember": 12, "dez": 12,
}
MONTH_NAMES = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
               "September", "Oktober", "November", "Dezember")
_WEEKDAYS = {"montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4,
             "samstag": 5, "sonnabend": 5, "sonntag": 6}
WEEKDAY_WORD = re.compile(r"^(" + "|".join(_WEEKDAYS) + r")s?(morgen|fruh|vormittag|mittag|"
                           r"nachmittag|abend)?s?$")
_NEXT = {"nachsten", "nachste", "nachster", "nachstes", "kommenden", "kommende", "kommender",
         "kommendes"}
_AFTER_NEXT = {"ubernachsten", "ubernachste", "ubernachster", "ubernachstes"}
_THIS = {"diesen", "diese", "dieser", "dieses"}

def from_now(words: list[str], now: datetime) -> tuple[datetime, list[int]] | None:
    """"in einer Stunde", "in einer halben Stunde", "in zwanzig Minuten"."""
    for i, w in enumerate(words):
        if w not in {"stunde", "stunden", "minute", "minuten"} or i < 2:
            continue
        before = words[i - 1]
        if before in {"halben", "halbe"} and words[i - 2] in {"einer", "eine"} and \
                i >= 3 and words[i - 3] == "in":
            return now + timedelta(minutes=30), [i - 3, i - 2, i - 1, i]
        if words[i - 2] != "in":
            continue
        count = 1 if before in {"einer", "einem", "eine"} else cardinal(before)
        if count is not None:
            unit = 60 if w.startswith("stunde") else 1
            return now + timedelta(minutes=count * unit), [i - 2, i - 1, i]
    return None


@dataclass
class DayReading:
    """The day a part of a phrase names, the words it took, and what did not fit."""

    date: date | None = None
    used: set[int] = field(default_factory=set)
    problem: tuple[str, str] | None = None  # (reason, the words as said)
    days: tuple[_Day, _Day] | None = None  # "Anfang nächster Woche": a stretch of days
    holiday: str | None = None


def read_day(words: list[str], today: date, today_said: bool) -> DayReading:
    found = DayReading()
    # every day the words name; they must all be one day ("Dienstag, den 1.12.")
    claims: list[tuple[date, str]] = []
    # a bare weekday only has to agree with a day said otherwise ("Dienstag, den 1.12.")
    weekdays: list[tuple[date, str]] = []
    relative_day = False
    n = len(words)
    names = {i for i, x in enumerate(words) if is_weekday(x) and in_a_name(words, i)}
    found.used.update(names)  # read, and not a day: the caller's name
    has_weekday = any(is_weekday(x) for i, x in enumerate(words) if i not in names)

    def claim(day: date | None, said: str, *at: int) -> None:
        found.used.update(at)
        lead = min(at)
        if "nicht" in words[max(0, lead - 2):lead]:
            return  # "Freitag, nicht Donnerstag": the day not meant
        if day is not None:
            claims.append((day, said))

    def impossible(said: str, *at: int) -> None:
        found.used.update(at)
        found.problem = found.problem or ("impossible_date", said)

    day: date | None
    day_no: int | None
    i = 0
    while i < n:
        w = words[i]
        before = words[i - 1] if i else ""
        after = words[i + 1] if i + 1 < n else ""
        named = read_named_day(words, i, today) if before not in _AROUND | GREETINGS else None
        if named is not None:
            day, length, name = named
            year = words[i + length] if i + length < n else ""
            if year.isdigit() and len(year) == 4:  # "Heiligabend 2027"
                day = named_in(name, int(year))
                length += 1
                if day < today:
                    found.problem = found.problem or ("in_past", f"{name} {year}")
            claim(day, name, *range(i, i + length))
            found.holiday = name
            i += length
            continue
        if before in GREETINGS and (w in VAGUE_DAYS or w in HOLIDAY_WORDS):
            pass  # "Prost Neujahr", "frohe Weihnachten": a wish, not a day
        elif w in VAGUE_DAYS or (w in HOLIDAY_WORDS and before in _AROUND):
            found.used.add(i)
            found.problem = found.problem or ("vague_day", " ".join(words[max(0, i - 1):i + 1])
                                              if before in _AROUND else w)
        elif re.fullmatch(r"\d{1,2}\.\d{1,2}\.(\d{2,4})?", w) or (
                re.fullmatch(r"\d{1,2}\.\d{1,2}", w) and before in {"am", "den", "zum", "vom"}):
            d, m, y = ([*w.split("."), ""])[:3]
            day = _calendar(int(d), int(m), int(y) if y else None, today)
            if day is None:
                impossible(_spoken_date(int(d), int(m)), i)
            else:
                claim(day, w, i)
        elif w in MONTHS and after == "den" and i + 2 < n and ordinal(words[i + 2]):
            day_no = ordinal(words[i + 2]) or 0
            day = _calendar(day_no, MONTHS[w], None, today)
            if day is None:
                impossible(_spoken_date(day_no, MONTHS[w]), i, i + 1, i + 2)
            else:
                claim(day, w, i, i + 1, i + 2)
        elif w in MONTHS and i > 0 and (ordinal(before) or cardinal(before)):
            day_no = ordinal(before) or cardinal(before) or 0
            year_no = int(after) if after.isdigit() and len(after) == 4 else None
            at = (i - 1, i, i + 1) if year_no else (i - 1, i)
            day = _calendar(day_no, MONTHS[w], year_no, today)
            if day is None:
                impossible(_spoken_date(day_no, MONTHS[w]), *at)
            else:
                claim(day, f"{before} {w}", *at)
        elif w == "heute":
            claim(today, w, i)
            relative_day = True
        elif w in {"gestern", "vorgestern"}:
            found.used.add(i)
            found.problem = found.problem or ("in_past", w)
        elif w == "morgen" and before not in {"heute", "gestern", "guten"} \
                and not (is_weekday(before) and i - 1 not in names) \
                and not (before == "am" or before == "morgen"):
            claim(today + timedelta(1), w, i)
            relative_day = True
        elif w == "ubermorgen":
            claim(today + timedelta(2), w, i)
            relative_day = True
        elif w in {"tagen", "tag", "wochen", "woche"} and i >= 2 and words[i - 2] == "in" and \
                not (w.startswith("woche") and has_weekday):
            count = 1 if before in {"einer", "einem", "ein", "eine"} else cardinal(before)
            if count is not None:
                # "morgen in einer Woche" counts from the day just said
                base = claims.pop()[0] if claims and relative_day else today
                step = 7 * count if w.startswith("woche") else (7 if count == 8 else count)
                claim(base + timedelta(step), f"in {before} {w}", i - 2, i - 1, i)
        elif i in names:
            pass
        elif is_weekday(w):
            day, took = _weekday(words, i, today, today_said)
            if len(took) == 1:
                found.used.add(i)
                if "nicht" not in words[max(0, i - 2):i]:
                    weekdays.append((day, w))
            else:
                claim(day, w, *took)
        elif w == "woche" and not has_weekday and (before in _NEXT | _AFTER_NEXT | _THIS or (
                before == "der" and i >= 2 and words[i - 2] in _WEEK_PARTS)):
            weeks = 2 if before in _AFTER_NEXT else 1 if before in _NEXT else 0
            monday = today - timedelta(today.weekday()) + timedelta(7 * weeks)
            lead = i if before == "der" else i - 1  # where "nächste Woche" begins
            if lead >= 1 and words[lead - 1] == "der":  # "Ende der (nächsten) Woche"
                lead -= 1
            part = words[lead - 1] if lead >= 1 else ""
            if part in _WEEK_PARTS:
                first, last = _WEEK_PARTS[part]
                span = (monday + timedelta(first), monday + timedelta(last))
                if span[1] < today:
                    span = (span[0] + timedelta(7), span[1] + timedelta(7))
                span = (max(span[0], today), span[1])
                claim(span[0], " ".join(words[lead - 1:i + 1]), *range(lead - 1, i + 1))
                found.days = span
            else:
                claim(max(monday, today), f"{before} {w}", *range(lead, i + 1))
        elif w == "wochenende":
            saturday = today + timedelta((5 - today.weekday()) % 7)
            if before in _AFTER_NEXT:  # "übernächstes Wochenende"
                claim(saturday + timedelta(7), f"{before} {w}", i - 1, i)
            else:
                claim(saturday, w, *((i - 1, i) if before in _NEXT | _THIS else (i,)))
        elif w in {"am", "den", "zum"} and (ordinal(after) is not None) and not any(
                x in MONTHS for x in words) and (i + 2 >= n or words[i + 2] != "uhr") and not (
                read_named_day(words, i + 1, today) or (i + 2 < n and words[i + 2] in VAGUE_DAYS)):
            day_no = ordinal(after)
            if day_no and (after.endswith(".") or not after.isdigit()):
                day = _next_day_of_month(day_no, today) if 1 <= day_no <= 31 else None
                if day is None:
                    impossible(f"{day_no}.", i + 1)
                else:
                    claim(day, after, i + 1)
        i += 1
    if not claims:
        claims, weekdays = weekdays, []
    clash = [s for day, s in weekdays if claims and day.weekday() != claims[-1][0].weekday()]
    if len({day for day, _ in claims}) > 1 or clash:
        choice = "oder" in words  # "Montag oder Dienstag": the caller leaves it open
        said = (" oder " if choice else " und ").join(dict.fromkeys([s for _, s in claims] + clash))
        found.problem = found.problem or ("choice" if choice else "conflict", said)
    elif claims:
        found.date = claims[-1][0]
    if found.days and found.date != found.days[0]:
        found.days = None
    return found


GREETINGS = frozenset({"prost", "frohes", "frohe", "frohen", "gutes", "gesegnete",
                       "gesegnetes", "schones", "schone", "schonen"})
_AROUND = {"nach", "vor", "bis", "ab", "zwischen", "uber", "rund", "um"}
# "Anfang/Mitte/Ende nächster Woche": which weekdays (0 = Monday) each part is
_WEEK_PARTS = {"anfang": (0, 1), "mitte": (2, 3), "ende": (4, 5)}


def _spoken_date(day: int, month: int) -> str:
    return f"{day}. {MONTH_NAMES[month - 1]}" if 1 <= month <= 12 else f"{day}.{month}."


def is_weekday(word: str) -> bool:
    return bool(WEEKDAY_WORD.match(word))


_BEFORE_A_NAME = frozenset({"frau", "herr", "herrn", "familie", "heisse", "heiss", "namens", "namen"})
_TITLES = frozenset({"frau", "herr", "herrn", "familie"})


def in_a_name(words: list[str], i: int) -> bool:
    """ "Frau Montag", "Frau Anna Montag", "ich heiße Freitag", "mein Name ist Sonntag", "Montag ist
    mein Name": a weekday word standing where a name stands is the caller, not a day. Only these
    tight places: "Schmidt, Montag um 10" keeps its Monday."""
    before = words[i - 1] if i else ""
    if before in _BEFORE_A_NAME or words[max(0, i - 2):i] == ["name", "ist"]:
        return True
    if i >= 2 and words[i - 2] in _TITLES and not is_weekday(before):
        return True
    return words[i + 1:i + 4] == ["ist", "mein", "name"] or words[i + 1:i + 3] == ["am", "apparat"]


def _weekday(words: list[str], i: int, today: date, today_said: bool) -> tuple[date, list[int]]:
    """The day a weekday word names, with the words around it that placed it."""
    named = WEEKDAY_WORD.match(words[i])
    if named is None:
        raise ValueError(f"not a weekday: {words[i]!r}")  # callers check `is_weekday` first
    target = _WEEKDAYS[named.group(1)]
    this_monday = today - timedelta(today.weekday())
    lo, hi = max(0, i - 5), min(len(words), i + 5)
    week_at = [j for j in range(lo, hi) if words[j] in {"woche", "wochen"}]
    if week_at:
        j = min(week_at, key=lambda k: abs(k - i))
        qualifier = words[j - 1] if j else ""
        if j >= 2 and words[j - 2] == "in":
            # "Donnerstag in einer Woche", "in zwei Wochen am Dienstag": that weekday of the
            # calendar week N weeks from this one
            count = 1 if qualifier in {"einer", "einem", "eine"} else cardinal(qualifier)
            if count:
                return this_monday + timedelta(7 * count + target), [i, j - 2, j - 1, j]
        if qualifier in _NEXT | _AFTER_NEXT:
            weeks = 2 if qualifier in _AFTER_NEXT else 1
            return this_monday + timedelta(7 * weeks + target), [i, j - 1, j]
        if qualifier in _THIS:
            day = this_monday + timedelta(target)
            return (day if day >= today else day + timedelta(7)), [i, j - 1, j]
    ahead = (target - today.weekday()) % 7
    if ahead == 0 and not today_said:
        ahead = 7
    took = [i]
    if i > 0 and words[i - 1] in _AFTER_NEXT:
        ahead += 7
        took.append(i - 1)
    elif i > 0 and words[i - 1] in _NEXT | _THIS:
        took.append(i - 1)
    return today + timedelta(ahead), took


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


