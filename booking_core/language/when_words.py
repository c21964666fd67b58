"""Which words of a phrase speak of a day or a time, so that none of them is silently dropped.

A reader that places "morgen" but skips "Dinstag" (a misheard weekday) or "in zwei Monaten" would
book a day the caller did not say. `unplaced` names the first such word the readers did not use;
the phrase is then unclear and the caller is asked, never given another day. Words arrive folded.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from booking_core.language.days import MONTHS, is_weekday
from booking_core.language.holidays import HOLIDAY_WORDS, VAGUE_DAYS
from booking_core.language.numbers import cardinal

_FULL_MONTHS = ("januar", "februar", "marz", "april", "mai", "juni", "juli", "august",
                "september", "oktober", "november", "dezember")
_DAY_NAMES = ("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag",
              "sonnabend")
_ALWAYS = frozenset({
    "heute", "morgen", "ubermorgen", "gestern", "vorgestern", "uhr", "halb", "viertel",
    "dreiviertel", "woche", "wochen", "wochenende", "monat", "monate", "monaten", "monats",
    "vormittag", "vormittags", "nachmittag", "nachmittags", "mittag", "mittags", "abend",
    "abends", "fruh", "morgens", "mitternacht", "nachts", "nacht",
    "wochentag", "werktag", "werktags", "wochenanfang", "wochenmitte", "monatsende",
    "monatsanfang", "jahresende",
})
_COUNTED = frozenset({"tag", "tage", "tagen", "stunde", "stunden", "minute", "minuten"})
_COUNT_WORDS = frozenset({"einer", "einem", "ein", "eine", "paar", "halben"})
_GREETING = frozenset({"guten", "gute", "schonen", "schones", "einen", "prost", "frohes",
                       "frohe", "gutes", "gesegnete", "gesegnetes", "frohen"})
_CLOCK = re.compile(r"\d{1,2}[:.]\d{2}")
_DATE = re.compile(r"\d{1,2}\.\d{1,2}\.\d*")


def unplaced(words: list[str], used: set[int]) -> tuple[str, str] | None:
    """(reason, word) for the first date or time word no reader used; None when all were."""
    for i, w in enumerate(words):
        if i in used:
            continue
        reason = _kind(words, i)
        if reason is not None:
            said = w
            if w == "uhr" and i:
                said = f"{words[i - 1]} Uhr"
            elif i and (cardinal(words[i - 1]) is not None or words[i - 1] in _COUNT_WORDS):
                start = i - 2 if i >= 2 and words[i - 2] in {"in", "vor", "nach"} else i - 1
                said = " ".join(words[start:i + 1])  # "in zwei Monaten"
            return reason, said
    return None


def _kind(words: list[str], i: int) -> str | None:
    w = words[i]
    before = words[i - 1] if i else ""
    if (w in {"morgen", "abend", "tag", "nacht", "mittag"} or w in HOLIDAY_WORDS
            or w in VAGUE_DAYS) and before in _GREETING:
        return None  # "Guten Morgen", "schönen Abend"
    if w == "uhr":
        return "impossible_time"
    if _CLOCK.fullmatch(w):
        return "impossible_time"
    if _DATE.fullmatch(w):
        return "impossible_date"
    if is_weekday(w) or w in _ALWAYS or w in _FULL_MONTHS or w in VAGUE_DAYS \
            or w in HOLIDAY_WORDS:
        return "unplaced"
    if w in MONTHS and (cardinal(before.rstrip(".")) is not None):
        return "unplaced"
    if w.isdigit() and len(w) == 4 and 1900 <= int(w) <= 2199:
        return "unplaced"  # a year no reader placed: "Heiligabend 2027" must not be this year's
    if w in _COUNTED and (before == "in" or cardinal(before) is not None
                          or before in {"einer", "einem", "ein", "eine", "paar", "halben"}):
        return "unplaced"
    if len(w) >= 5 and w.isalpha() and not _in_a_name(words, i):
        if w.endswith(("tag", "tags")) and w not in {"feiertag"}:
            return "unknown_word"  # "Dinstag", "Geburtstag": a day we cannot place
        near = process.extractOne(w, _DAY_NAMES + _FULL_MONTHS, scorer=fuzz.ratio,
                                  score_cutoff=80)
        if near is not None:
            return "unknown_word"  # "Mitwoch", "Dezenber": misheard, ask rather than guess
    return None


_NAME_CUES = frozenset({"name", "namen", "heisse", "heiss", "frau", "herr", "familie"})


def _in_a_name(words: list[str], i: int) -> bool:
    """ "Name: Kaspar Sontag", "Frau Montag", "Sontag ist mein Name": a surname that only looks like
    a misheard day word is the caller's name, not a day to ask about."""
    if any(w in _NAME_CUES for w in words[max(0, i - 3):i]):
        return True
    return words[i + 1:i + 4] == ["ist", "mein", "name"] or words[i + 1:i + 3] == ["am", "apparat"]
