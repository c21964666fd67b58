"""Where a German caller turn speaks of a day or a time: the spans, kept in the caller's words.

Only finding, never computing: the phrases go to the core, which reads them (its date reader is
what the suite tests). A qualifier belongs to the weekday it modifies ("nächste Woche Freitag",
"Freitag in einer Woche"), so it is matched as one phrase; cutting it off books a week early.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def _alt(*words: str) -> str:
    return "(?:" + "|".join(words) + ")"


_AE = "(?:ä|ae|a)"
_UE = "(?:ü|ue|u)"
WEEKDAY = (r"(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag)s?"
           r"(?:(?:früh|frueh|morgen|vormittag|mittag|nachmittag|abend)s?)?")
MONTH = (r"(?:januar|jänner|jaenner|februar|märz|maerz|april|mai|juni|juli|august|september|oktober"
         r"|november|dezember|jan|feb|apr|jun|jul|aug|sept|sep|okt|nov|dez)\.?")
_UNITS = ["ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"]
CARDINAL = _alt("eins", "ein", "eine", "einer", "einem", "zwei", "drei", "vier", "fünf", "fuenf", "sechs",
                "sieben", "acht", "neun", "zehn", "elf", "zwölf", "zwoelf", "dreizehn", "vierzehn",
                "fünfzehn", "sechzehn", "siebzehn", "achtzehn", "neunzehn", "zwanzig", r"\d{1,2}")
_ORDINAL_STEMS = ["ers", "zwei", "drit", "vier", "fünf", "sechs", "sieb", "sieben", "ach", "neun", "zehn",
                  "elf", "zwölf", "dreizehn", "vierzehn", "fünfzehn", "sechzehn", "siebzehn", "achtzehn",
                  "neunzehn"]
ORDINAL_WORD = _alt(*[f"{stem}te[nmrs]?" for stem in _ORDINAL_STEMS],
                    *[f"{unit}undzwanzigste[nmrs]?" for unit in _UNITS], "zwanzigste[nmrs]?",
                    "dreißigste[nmrs]?", "dreissigste[nmrs]?", "einunddreißigste[nmrs]?",
                    "einunddreissigste[nmrs]?")
_NEXT = rf"(?:n{_AE}chste[nmrs]?|kommende[nmrs]?|{_UE}bern{_AE}chste[nmrs]?|diese[nmrs]?)"
WEEK_QUALIFIER = rf"(?:{_NEXT}\s+woche|in\s+{CARDINAL}\s+wochen?)"
_IN_DAYS = rf"in\s+{CARDINAL}\s+(?:tagen|tag|wochen|woche)"
_RELATIVE_DAY = rf"(?:heute|{_UE}bermorgen|(?<!guten\s)morgen(?!s\b))"
_TIME_NUMBER = _alt("dreizehn", "vierzehn", "fünfzehn", "fuenfzehn", "sechzehn", "siebzehn", "achtzehn",
                    "neunzehn", "zwanzig", "eins", "ein", "zwei", "drei", "vier", "fünf", "fuenf", "sechs",
                    "sieben", "acht", "neun", "zehne?", "elfe?", "zwölfe?", "zwoelf", r"\d{1,2}(?:[:.]\d{2})?")
_MINUTE_WORD = _alt("fünf", "fuenf", "zehn", "zwanzig", "viertel", r"\d{1,2}")
_MINUTES_AFTER = _alt("fünfzehn", "fuenfzehn", "dreißig", "dreissig", "fünfundvierzig", "zehn", "zwanzig",
                      "fünf", r"\d{1,2}")
_CLOCK = (rf"(?:{_MINUTE_WORD}\s+(?:nach|vor)\s+(?:halb\s+)?{_TIME_NUMBER}"
          rf"|halb\s+{_TIME_NUMBER}|dreiviertel\s+{_TIME_NUMBER}|viertel\s+(?:nach|vor)\s+{_TIME_NUMBER}"
          rf"|{_TIME_NUMBER}(?:\s*uhr(?:\s+{_MINUTES_AFTER}\b)?)?)")
_PART_OF_DAY = r"(?:früh|frueh|morgens|vormittags?|mittags?|nachmittags?|abends?|feierabend)"

DAY = re.compile("|".join([
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)?)?",
    # "nächste Woche (am) Freitag", "Freitag nächste Woche", "Freitag in einer Woche"
    rf"\b(?:am\s+)?{WEEK_QUALIFIER}\s+(?:am\s+)?{WEEKDAY}\b",
    rf"\b(?:(?:am|an\s+einem|diesen|nächsten|naechsten|kommenden|{_UE}bern{_AE}chsten)\s+)*{WEEKDAY}"
    rf"(?:\s+(?:{WEEK_QUALIFIER}|in\s+einer\s+woche))?\b",
    rf"\b{_RELATIVE_DAY}(?:\s+in\s+{CARDINAL}\s+(?:wochen?|tagen))?\b",
    rf"\b{_IN_DAYS}\b",
    rf"\b{_NEXT}\s+woche\b",
    rf"\b(?:am\s+|zum\s+|den\s+|vom\s+)?(?:\d{{1,2}}\.|{ORDINAL_WORD})\s*{MONTH}(?:\s+\d{{4}})?(?!\w)",
    rf"\b(?:am\s+|den\s+|zum\s+)?{MONTH}\s+den\s+(?:\d{{1,2}}\.|{ORDINAL_WORD})(?!\w)",
    r"\b(?:am\s+|den\s+|zum\s+|vom\s+)?\d{1,2}\.\d{1,2}\.(?:\d{2,4})?(?!\d)",
    # "am dritten", "am 5." alone: the next such day of a month (not "den dritten": a choice)
    rf"\b(?:am|zum)\s+(?:\d{{1,2}}\.(?!\d)|{ORDINAL_WORD}\b)(?!\s+(?:termin|uhr|vorschlag))",
    r"\b(?:für\s+|fuer\s+)?den\s+\d{1,2}\.(?!\d)",
    r"\b(?:am\s+|übers\s+|uebers\s+)?wochenende\b",
]), re.IGNORECASE)
TIME = re.compile("|".join([
    rf"\bzwischen\s+{_TIME_NUMBER}(?:\s*uhr)?\s+und\s+{_TIME_NUMBER}(?:\s*uhr)?",
    rf"\b(?:(?:so\s+)?(?:um|gegen|ab|nach|bis|vor|kurz\s+nach|kurz\s+vor|so)\s+)?"
    rf"(?:{_MINUTE_WORD}\s+(?:nach|vor)\s+(?:halb\s+)?{_TIME_NUMBER}|halb\s+{_TIME_NUMBER}"
    rf"|dreiviertel\s+{_TIME_NUMBER}|viertel\s+(?:nach|vor)\s+{_TIME_NUMBER})(?:\s*uhr)?",
    rf"\b(?:so\s+)?(?:um|gegen|ab|bis|kurz\s+nach|kurz\s+vor)\s+{_CLOCK}",
    rf"\b(?:nach|vor)\s+{_TIME_NUMBER}\s*uhr(?:\s+{_MINUTES_AFTER}\b)?",
    rf"\b{_TIME_NUMBER}\s*uhr(?:\s+{_MINUTES_AFTER}\b)?",
    r"\b\d{1,2}:\d{2}\b",
    rf"(?<!guten\s)\b(?:am\s+|in\s+der\s+|(?:so\s+)?gegen\s+|am\s+frühen\s+|am\s+späten\s+|am\s+fruehen\s+)?"
    rf"{_PART_OF_DAY}\b",
]), re.IGNORECASE)
_PART_ONLY = re.compile(rf"(?:am\s+|in\s+der\s+)?{_PART_OF_DAY}", re.IGNORECASE)
# "X statt Y": the words after it were replaced by the caller, not wished for.
REPLACED = re.compile(r"\b(?:statt|anstatt|anstelle\s+von|nicht\s+mehr)\b", re.IGNORECASE)


@dataclass
class DateMention:
    """One spoken moment: a day part and/or a time part, in the words of the caller."""

    day: str | None = None
    time: str | None = None
    lead: str | None = None  # the word before it: "auf" marks a new time when rescheduling
    replaced: bool = False  # said after "statt": the moment the caller no longer wants
    end: int = field(default=0, compare=False, repr=False)  # where its last part ends in the turn

    def phrase(self) -> str:
        return " ".join(part for part in (self.day, self.time) if part)


def date_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, 'day'|'time') of every day and time phrase, longest first on overlaps."""
    hits = [(m.start(), m.end(), "day") for m in DAY.finditer(text)]
    hits += [(m.start(), m.end(), "time") for m in TIME.finditer(text)]
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    kept: list[tuple[int, int, str]] = []
    for start, end, kind in hits:
        if kept and start < kept[-1][1]:
            continue
        kept.append((start, end, kind))
    return kept


def date_mentions(text: str, spans: list[tuple[int, int, str]]) -> list[DateMention]:
    """Group day and time phrases into moments: a second day or a second time starts a new one."""
    mentions: list[DateMention] = []
    for start, end, kind in spans:
        words = text[start:end].strip()
        current = mentions[-1] if mentions else None
        before = text[current.end:start] if current else ""
        # a new moment after a second day/time, or after a correction between the parts
        corrected = re.search(r"\b(?:nein|nee|ne|doch|lieber|oder|statt|auf|von)\b", before, re.IGNORECASE)
        if current is not None and kind == "time" and current.time and not corrected \
                and bool(_PART_ONLY.fullmatch(current.time)) != bool(_PART_ONLY.fullmatch(words)):
            current.time, current.end = f"{current.time} {words}", end  # "nachmittags um drei", "um 8 morgens"
            continue
        if current is None or getattr(current, kind) is not None or corrected:
            lead_words = re.findall(r"[\wäöüß]+", text[:start].lower())
            current = DateMention(lead=lead_words[-1] if lead_words else None,
                                  replaced=bool(REPLACED.search(" ".join(lead_words[-2:])))
                                  or (bool(lead_words) and lead_words[-1] == "nicht"))  # "…, nicht Dienstag"
            mentions.append(current)
        setattr(current, kind, words)
        current.end = end
    for mention in mentions:
        if mention.day and re.match(r"\d{4}-\d{2}-\d{2}[T ]\d", mention.day):
            mention.time = None  # ISO already carries the time
    return mentions
