"""What the simulated agent understands of a German caller turn.

This is the rule-based stand-in for the LLM's reading of an utterance. It only *segments*: the
service phrase and date phrases are handed to the core as spoken, because matching services and
parsing dates is the core's job and exactly what the suite tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Intent = Literal["book", "cancel", "reschedule", "list", "services", "goodbye"]

_WEEKDAY = r"(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonnabend|sonntag)s?"
_MONTH = (r"(?:januar|jänner|februar|märz|maerz|april|mai|juni|juli|august|september|oktober"
          r"|november|dezember)")
_NUMBER_WORD = r"(?:eins|ein|zwei|drei|vier|fünf|fuenf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwoelf)"
_HOUR = rf"(?:\d{{1,2}}(?:[:.]\d{{2}})?|{_NUMBER_WORD})"

_DAY = re.compile(
    "|".join([
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:[+-]\d{2}:?\d{2}|Z)?)?",
        r"\b(?:über|ueber)morgen\b",
        r"(?<!guten )\bmorgen\b(?!s)",
        r"\bheute\b",
        rf"\b(?:(?:am|diesen|nächsten|naechsten|kommenden|nächste[nm]?)\s+)*{_WEEKDAY}\b",
        rf"\b(?:am\s+)?\d{{1,2}}\.\s*{_MONTH}(?:\s+\d{{4}})?",
        r"\b(?:am\s+)?\d{1,2}\.\d{1,2}\.(?:\d{2,4})?",
        r"\bin\s+(?:\w+)\s+(?:tagen|wochen|woche)\b",
        r"\b(?:nächste|naechste|kommende)\s+woche\b",
    ]),
    re.IGNORECASE,
)
_TIME = re.compile(
    "|".join([
        rf"\b(?:(?:so\s+)?(?:um|gegen|ab)\s+)?(?:halb|viertel\s+nach|viertel\s+vor|dreiviertel)\s+{_HOUR}(?:\s*uhr)?",
        rf"\b(?:so\s+)?(?:um|gegen|ab)\s+{_HOUR}(?:\s*uhr(?:\s*\d{{1,2}}\b)?)?",
        rf"\b{_HOUR}\s*uhr(?:\s*\d{{1,2}}\b)?",
        r"\b\d{1,2}:\d{2}\b",
        r"\b(?:am\s+)?(?:vormittags?|nachmittags?|mittags?|abends?|morgens|früh|frueh)\b",
    ]),
    re.IGNORECASE,
)
_NAME = re.compile(
    r"(?i:\b(?:mein\s+name\s+ist|ich\s+heiße|ich\s+heisse|hier\s+(?:ist|spricht)|name\s+ist|ich\s+bin|"
    r"auf\s+den\s+namen)\s+)"
    r"((?:[A-ZÄÖÜ][\wäöüß'\-]+)(?:\s+(?:von\s+|van\s+)?[A-ZÄÖÜ][\wäöüß'\-]+){0,3})"
)
_BARE_NAME = re.compile(r"^\s*([A-ZÄÖÜ][\wäöüß'\-]+(?:\s+[A-ZÄÖÜ][\wäöüß'\-]+){1,3})\s*[.!]?\s*$")

_INTENTS: list[tuple[Intent, re.Pattern[str]]] = [
    ("cancel", re.compile(r"absagen|stornier|storno|streichen|canceln|löschen|nicht\s+kommen", re.I)),
    ("reschedule", re.compile(r"verschieben|verlegen|umbuchen|umlegen|anderen\s+tag", re.I)),
    ("list", re.compile(
        r"welche\s+termine|meine\s+termine|wann\s+(?:ist|war)\s+mein|(?:habe|hab)\s+ich\s+(?:noch\s+)?"
        r"(?:einen\s+|termine)|termine\s+(?:habe|hab)\s+ich", re.I)),
    ("services", re.compile(
        r"was\s+(?:bieten|machen|haben)\s+sie|welche\s+(?:leistungen|behandlungen|dienstleistungen)|"
        r"preisliste|ihr\s+angebot", re.I)),
    ("goodbye", re.compile(r"tschüss|tschüs|auf\s+wiederhören|auf\s+wiederhoeren|das\s+war['’]?s", re.I)),
    ("book", re.compile(r"buchen|termin|reservier|vorbeikommen|kommen|hätte\s+gern|möchte|brauche|"
                        r"frei\b|zeit\b|\bwill\b|wollte|\b(?:einen|eine|ein|einmal|bitte)\b", re.I)),
]
_YES = re.compile(r"^\s*gerne?\b|\b(?:ja|passt|okay|ok|einverstanden|genau|klar|nehme\s+ich|perfekt|"
                  r"super|prima|machen\s+wir)\b", re.I)
_NO = re.compile(r"\b(?:nein|nee|lieber\s+nicht|passt\s+nicht|geht\s+nicht)\b", re.I)
_ORDINALS = {"erste": 0, "ersten": 0, "zweite": 1, "zweiten": 1, "dritte": 2, "dritten": 2,
             "letzte": -1, "letzten": -1}
_ORDINAL = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\b", re.I)

# Words that carry no service: grammar, politeness, intent verbs, people. What is left of a turn
# after dates and names are cut out is the service phrase, as spoken.
_FILLER = set("""
ich du sie wir mir mich mein meine meinen meinem meiner ihnen ihr euch uns es man
möchte möchten würde würden hätte hätten habe hab haben hatte will wollte wollen kann könnte können
brauche braucht bräuchte benötige benötigt gerne gern bitte danke hallo guten tag abend grüß gott servus moin
ja nein doch also mal auch noch so nur schon dann lieber vielleicht eigentlich wieder halt eben
einen eine ein einem einer eines den die das der dem des
termin termine terminen termins für fuer zum zur zu bei beim im in an am um auf von vom aus nach über
buchen gebucht machen lassen vereinbaren reservieren ausmachen bekommen kriegen haben
kommen vorbeikommen vorbei gehen würden hätten
ist sind wäre wären sein gibt geht es da hier frei zeit verfügbar was wann wie wo
salon haarmonie uhr
neuen neue neu nächsten nächste kommenden diese diesen dieser
absagen stornieren verschieben verlegen umbuchen streichen
erste ersten zweite zweiten dritte dritten letzte letzten passt nehme
""".split())  # noqa: SIM905 - a word list reads better as text
_CONNECTORS = {"mit", "und", "ohne"}
_WORD = re.compile(r"[\wäöüÄÖÜß\-]+|,")


@dataclass
class DateMention:
    """One spoken moment: a day part and/or a time part, in the words of the caller."""

    day: str | None = None
    time: str | None = None
    lead: str | None = None  # the word before it: "auf" marks a new time when rescheduling

    def phrase(self) -> str:
        return " ".join(part for part in (self.day, self.time) if part)


@dataclass
class Understanding:
    text: str
    silent: bool = False
    intent: Intent | None = None
    dates: list[DateMention] = field(default_factory=list)
    name: str | None = None
    service: str | None = None
    yes: bool = False
    no: bool = False
    thanks: bool = False
    ordinal: int | None = None


def _date_mentions(text: str) -> tuple[list[DateMention], list[tuple[int, int]]]:
    hits = [(m.start(), m.end(), "day", m.group().strip()) for m in _DAY.finditer(text)]
    hits += [(m.start(), m.end(), "time", m.group().strip()) for m in _TIME.finditer(text)]
    hits.sort()
    mentions: list[DateMention] = []
    spans: list[tuple[int, int]] = []
    last_end = -1
    for start, end, kind, words in hits:
        if start < last_end:  # overlapping alternative of the same words
            continue
        last_end = end
        spans.append((start, end))
        current = mentions[-1] if mentions else None
        # A second day or a second time starts a new moment ("von morgen 10 auf Freitag 11").
        if current is None or getattr(current, kind) is not None:
            before = re.findall(r"[\wäöü]+", text[:start].lower())
            current = DateMention(lead=before[-1] if before else None)
            mentions.append(current)
        setattr(current, kind, words)
    for mention in mentions:
        if mention.day and re.match(r"\d{4}-\d{2}-\d{2}[T ]\d", mention.day):
            mention.time = None  # ISO already carries the time
    return mentions, spans


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text


def service_phrase(text: str) -> str | None:
    """The content words of a turn, connectors kept inside a run ("Herrenschnitt mit Bart")."""
    runs: list[list[str]] = []
    current: list[str] = []
    for token in _WORD.findall(text):
        lowered = token.lower()
        if lowered in _FILLER or lowered.isdigit():
            if current:
                runs.append(current)
            current = []
        elif (lowered in _CONNECTORS or token == ",") and not current:
            continue
        else:
            current.append(token)
    if current:
        runs.append(current)
    phrases = []
    for run in runs:
        while run and (run[-1].lower() in _CONNECTORS or run[-1] == ","):
            run.pop()
        if run:
            phrases.append(" ".join(run).replace(" ,", ","))
    # All content words, in order: "für meine Tochter einen Haarschnitt" keeps whom it is for.
    return " ".join(phrases) or None


def understand(turn: str | None) -> Understanding:
    text = (turn or "").strip()
    if not text or not re.search(r"\w", text):
        return Understanding(text=text, silent=True)
    result = Understanding(text=text)
    for intent, pattern in _INTENTS:
        if pattern.search(text):
            result.intent = intent
            break
    mentions, spans = _date_mentions(text)
    result.dates = mentions
    name_match = _NAME.search(text)
    if name_match:
        result.name = name_match.group(1)
        spans = spans + [name_match.span()]
    result.yes = bool(_YES.search(text))
    result.no = bool(_NO.search(text))
    result.thanks = bool(re.search(r"\bdanke\b|vielen\s+dank", text, re.I))
    ordinal = _ORDINAL.search(text)
    if ordinal:
        result.ordinal = _ORDINALS[ordinal.group(1).lower()]
    rest = _cut(text, spans)
    for _, pattern in _INTENTS[:5]:
        rest = pattern.sub(" ", rest)
    rest = _YES.sub(" ", _NO.sub(" ", rest))
    result.service = service_phrase(rest)
    return result


def bare_name(text: str) -> str | None:
    """A turn that is only a name ("Jana Schulz."), as an answer to 'Auf welchen Namen?'."""
    match = _BARE_NAME.match(text)
    return match.group(1) if match else None


_HOUR_WORDS = {"eins": 1, "ein": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "fuenf": 5, "sechs": 6,
               "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "zwoelf": 12}


def spoken_clock(phrase: str) -> tuple[int, int] | None:
    """'um zehn' → (10, 0), 'halb drei' → (14, 30): for picking one of the options the agent itself
    offered (salon hours: a small hour means the afternoon). Dates stay the core's business."""
    text = phrase.lower()
    match = re.search(r"(\d{1,2})(?:[:.](\d{2}))?|(" + "|".join(_HOUR_WORDS) + r")\b", text)
    if not match:
        return None
    hour = int(match.group(1)) if match.group(1) else _HOUR_WORDS[match.group(3)]
    minute = int(match.group(2) or 0)
    if "halb" in text:
        hour, minute = hour - 1, 30
    elif "viertel nach" in text:
        minute = 15
    elif "viertel vor" in text or "dreiviertel" in text:
        hour, minute = hour - 1, 45
    if hour < 8:
        hour += 12
    return hour, minute
