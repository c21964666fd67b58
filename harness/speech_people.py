"""Who is calling: names and phone numbers wherever a caller puts them in a turn.

A name is only taken with a cue ("Mein Name ist X", "X ist mein Name", "X am Apparat", "hier ist
X", "Name: X", "Ich bin die X") or as a sentence of its own after other words ("…, Jana Schulz."),
and never when a word of it is a salon or everyday word: "Damenschnitt." is no name.
"""

from __future__ import annotations

import re

from harness.speech_lexicon import FILLER, is_service_word

# Why a caller calls: accounted for, but nothing the webhook needs.
CONTEXT = frozenset("""
heirate heiraten hochzeit feier party geburtstag jubiläum urlaub fest taufe abiball ball event
verabredung vorstellungsgespräch date wochen tagen woche tage
arbeit arbeite schicht dienst krank erkältet verhindert dazwischengekommen dazwischen gekommen leider
schule kita uni mittagspause feierabend büro
kundin kunde stammkundin stammkunde neukundin neukunde letztes mal
""".split())  # noqa: SIM905

_WORD = r"[A-ZÄÖÜ][\wäöüß'’\-]+"
_NAME = rf"{_WORD}(?:\s+(?:(?:von|van|de|zu|von\s+der|van\s+der)\s+)?{_WORD}){{0,3}}"
_NOT_NAMES = frozenset("""
montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag januar februar märz april mai juni
juli august september oktober november dezember heute morgen übermorgen uhr woche wochenende termin
frau herr familie
""".split())  # noqa: SIM905
_SPELLED = (r"(?:\s*,?\s*(?:mit|wie)\s+(?:ei|ai|ey|ay|dt|tt|th|ph|ie|ä|ö|ü|ß|ck|[a-zäöü](?:[\s\-][a-zäöü]){0,3})"
            r"(?:\s+geschrieben)?\b)?")
_CUE_BEFORE = re.compile(
    r"(?i:\b(?:mein\s+name\s+(?:ist|lautet|wäre)|ich\s+hei(?:ß|ss)e"
    r"|hier\s+(?:ist|spricht)(?:\s+(?:nochmal|noch\s+mal|wieder|einmal))?(?:\s+(?:die|der))?"
    r"|ich\s+bin['’]s\s*,?(?:\s+(?:die|der))?"
    r"|(?:der\s+|mein\s+)?(?:nach|familien|vor)?name\s*(?::|ist|lautet)?|ich\s+bin\s+(?:die|der)|ich\s+bin|auf\s+(?:den\s+)?namen"
    r"|mit\s+namen|es\s+spricht|am\s+apparat\s+ist)\s*:?\s+)"
    rf"(?:(?i:frau|herr)\s+)?({_NAME}){_SPELLED}")
_CUE_AFTER = re.compile(
    rf"(?:^|(?<=[\s,.!?]))({_NAME}){_SPELLED}\s+(?i:ist\s+mein\s+name|mein\s+name|am\s+apparat|hier(?=\s*[,.!?]|$)"
    r"|spricht(?=\s*[,.!?]|$))")
# Surnames that hold a salon stem; a service word itself ("Damenschnitt", "Tönung") is never one.
_SURNAME = re.compile(r"(?:er|mann|ler|el|e|i|l)$")
_LAST_FIRST = re.compile(rf"\s*({_WORD})\s*,\s*({_WORD})\s*[.!]?\s*")
_VORNAME = re.compile(rf"(?i:vorname\s*(?::|ist|lautet)?\s*)({_WORD})")
_NACHNAME = re.compile(rf"(?i:(?:nach|familien)name\s*(?::|ist|lautet)?\s*)({_WORD})")
_SENTENCE_NAME = re.compile(rf"(?:(?<=[,.!?])|^)\s*(?:(?i:frau|herr)\s+)?({_NAME}){_SPELLED}\s*(?=[.!?]|$)")

_DIGITS = {"null": "0", "eins": "1", "zwei": "2", "zwo": "2", "drei": "3", "vier": "4", "fünf": "5",
           "fuenf": "5", "sechs": "6", "sieben": "7", "acht": "8", "neun": "9"}
_DIGIT = r"(?:\d|null|eins|zwei|zwo|drei|vier|fünf|fuenf|sechs|sieben|acht|neun)"
_PHONE = re.compile(rf"(?:\+|\bplus\s+|\b(?=0|null))(?:{_DIGIT}[\s/\-]*){{6,16}}", re.IGNORECASE)


def _plausible(name: str, cued: bool = False) -> bool:
    """Not an everyday or salon word. After a cue ("Mein Name ist Schneider") a name may contain a
    salon stem; without one it may not ("…, Damenschnitt.")."""
    parts = [p for p in re.split(r"\s+", name) if p.lower() not in {"von", "van", "de", "zu", "der"}]
    return bool(parts) and not any(p.lower().rstrip("’'") in FILLER or p.lower() in _NOT_NAMES
                                   or p.lower() in CONTEXT
                                   or (is_service_word(p.lower()) and not (cued and _SURNAME.search(p)))
                                   for p in parts)


def name_spans(text: str, taken: list[tuple[int, int]], asked: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, name) of each name said, spelling hints included in the span. `asked`: the
    agent just asked for the name, so a turn that is only a name is one."""
    found: list[tuple[int, int, str]] = []
    for pattern in (_CUE_BEFORE, _CUE_AFTER):
        for match in pattern.finditer(text):
            name = _trim(match.group(1), cued=True)
            if name and _plausible(name, cued=True):
                found.append((match.start(), match.end(), name))
    reversed_name = _LAST_FIRST.fullmatch(text)
    if asked and not found and reversed_name and _plausible(reversed_name.group(1)) \
            and _plausible(reversed_name.group(2)):
        # "Becker, Thomas." as the answer to "Auf welchen Namen?"
        return [(0, len(text), f"{reversed_name.group(2)} {reversed_name.group(1)}")]
    if not found and (asked or re.search(r"[,.!?]", text.strip().rstrip(".!?"))):
        # "Einen Herrenschnitt morgen um zehn, Jana Schulz." — a sentence that is only a name
        for match in _SENTENCE_NAME.finditer(text):
            name = _trim(match.group(1))
            if name and _plausible(name) and (asked or match.start(1) > 0):
                found.append((match.start(1), match.end(), name))
    found = [f for f in found if not any(s <= f[0] < e for s, e in taken)]
    first, last = _VORNAME.search(text), _NACHNAME.search(text)
    if first and last and _plausible(first.group(1)) and _plausible(last.group(1)):
        # "Nachname Schmidt, Vorname Klaus": one person, said in two parts
        found.append((max(first.start(), last.start()), max(first.end(), last.end()),
                      f"{first.group(1)} {last.group(1)}"))
    for start, end, name in list(found):
        # "Meier mit ei": a spelling hint for a name said elsewhere in the turn
        for hint in re.finditer(rf"\b{re.escape(name.split()[-1])}{_SPELLED[:-1]}", text):
            if hint.end() > hint.start() + len(name.split()[-1]) and not start <= hint.start() < end:
                found.append((hint.start(), hint.end(), name))
    found.sort()
    return found


def _trim(name: str, cued: bool = False) -> str:
    """Drop words after the name that merely start the next clause ("Jana Schulz Und …")."""
    parts = name.split()
    while parts and not _plausible(parts[-1], cued):
        parts.pop()
    return " ".join(parts)


def phone_spans(text: str) -> list[tuple[int, int, str]]:
    """Numbers of at least 6 digits, spoken in digits or words, as E.164 (+49 for national)."""
    found = []
    for match in _PHONE.finditer(text):
        spoken = match.group().lower()
        digits = "".join(_DIGITS.get(t, t) for t in re.findall(r"\d|[a-zäöü]+", spoken) if t != "plus")
        if len(digits) < 6:
            continue
        if spoken.startswith(("+", "plus")):
            number = "+" + digits
        elif digits.startswith("00"):
            number = "+" + digits[2:]
        else:
            number = "+49" + digits[1:]
        found.append((match.start(), match.end(), number))
    return found
