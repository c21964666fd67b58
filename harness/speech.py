"""What the simulated agent understands of a German caller turn.

This is the rule-based stand-in for the LLM's reading of an utterance. It only *segments*: the
service phrase and date phrases are handed to the core as spoken, because matching services and
parsing dates is the core's job and exactly what the suite tests. Every word of a turn ends up
somewhere (a phrase, a name, a number, an intent, an answer, a correction, known filler); content
words that fit nowhere are reported as `unplaced`, and the agent asks back instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from harness.speech_dates import REPLACED, DateMention, date_mentions, date_spans
from harness.speech_lexicon import CHOICE, CONNECTORS, FILLER, PERSONS, is_service_word
from harness.speech_people import CONTEXT, name_spans, phone_spans

Intent = Literal["book", "cancel", "reschedule", "list", "services", "goodbye"]
Label = Literal["date", "phone", "name", "intent", "yes", "no", "choice", "correction", "filler",
                "service", "replaced", "context", "unplaced"]

__all__ = ["DateMention", "Intent", "Understanding", "bare_name", "spoken_clock", "understand"]

# (intent, how it is recognised, which of its words it owns). Order matters: cancelling or moving
# an appointment is often said with a booking word in it ("meinen Termin absagen").
_INTENTS: list[tuple[Intent, re.Pattern[str], re.Pattern[str]]] = [
    ("reschedule", re.compile(
        r"verschieb|verleg|umbuch|umleg|umplan|umtermin|anderen\s+(?:tag|termin|zeitpunkt)"
        r"|\bauf\b.{1,50}?\b(?:legen|schieben|packen|tauschen|ändern)\b"
        r"|\b(?:termin|ihn|den)\b.{0,30}\b(?:ändern|tauschen)\b|\b(?:später|früher)\s+(?:kommen|legen)\b", re.I),
     re.compile(r"\b(?:verschieb\w*|verleg\w*|umbuch\w*|umleg\w*|umplan\w*|legen|schieben|packen|tauschen|"
                r"ändern|anderen|später|früher)\b", re.I)),
    ("cancel", re.compile(
        r"absag|\bstornier|\bstorno|streichen|cancel|löschen|\bnicht\s+kommen|\bkomme?\s+(?:\w+\s+)?nicht\b"
        r"|schaff\w*\s+(?:\w+\s+){0,5}nicht|nicht\s+schaffen|nicht\s+wahrnehmen|ausfallen|fällt\s+\w+\s+aus"
        r"|\bsag\w*\s+(?:sie\s+)?(?:\w+\s+){0,3}ab\b(?!\s+(?:\d|halb|viertel))|nicht\s+mehr\s+brauch", re.I),
     re.compile(r"\b(?:absag\w*|stornier\w*|storno|streichen|canceln|löschen|kommen|komme|schaffe|schaff|"
                r"schaffen|schaffe's|wahrnehmen|ausfallen|fällt|aus|sag|sagen|ab|nicht|mehr|brauche|brauchen)\b",
                re.I)),
    ("list", re.compile(
        r"\b(?:welche|meine)\s+termine\b|\bwann\b[^.?!]*\b(?:ich|mein\w*)\b[^.?!]*\btermin"
        r"|\bwann\b[^.?!]*\btermin\b[^.?!]*\b(?:ich|mein\w*)\b"
        r"|\b(?:hab|habe|hatte)\s+ich\b[^.?!]*\b(?:termin\w*|was|etwas)\b"
        r"|\bbin\s+ich\b[^.?!]*\beingetragen|\bsteht\b[^.?!]*\bmein\w*\s+termin", re.I),
     re.compile(r"\b(?:eingetragen|steht|genau)\b", re.I)),
    ("services", re.compile(
        r"was\s+(?:bieten|machen|haben)\s+sie|welche\s+(?:leistungen|behandlungen|dienstleistungen)"
        r"|preisliste|\bangebot\b|was\s+kostet|\bpreise\b|wie\s+teuer|wie\s+lange\s+dauert", re.I),
     re.compile(r"\b(?:bieten|angebot|leistungen|behandlungen|dienstleistungen|preisliste|kostet|preise|"
                r"alles|denn|an|teuer|lange|dauert)\b", re.I)),
    ("goodbye", re.compile(
        r"tschüss|tschüs|ciao|auf\s+wiederh\w+|auf\s+wiedersehen|das\s+war['’]?s|vergessen\s+sie\s+es"
        r"|schönen\s+tag\s+noch|bis\s+dann\b", re.I),
     re.compile(r"\b(?:tschüss|tschüs|ciao|wiederh\w+|wiedersehen|war['’]?s|vergessen|schönen|noch|bis|dann)\b",
                re.I)),
]
_WISH = re.compile(r"buchen|\btermin|reservier|vorbei|kommen|hätte\s+gern|möchte|brauche|bräuchte|frei\b|"
                   r"zeit\s+für|\bwill\b|wollte|einmal|\bgerne?\s+(?:eine?n?|mal)\b|\bgeht\s+das\b|machen\s+lassen|"
                   r"\blassen\b", re.I)
_YES = re.compile(r"^\s*gerne?\b|\b(?:ja|jawohl|jo|passt|okay|ok|einverstanden|genau|klar|nehme\s+ich|perfekt|"
                  r"super|prima|machen\s+wir|in\s+ordnung|das\s+geht|wunderbar)\b", re.I)
_NO = re.compile(r"\b(?:nein|nee|nö|lieber\s+nicht|passt\s+nicht|geht\s+nicht)\b", re.I)
_CORRECTION = re.compile(r"\b(?:ach\s+(?:nein|nee|ne)|nein|nee|doch\s+lieber|doch|lieber|besser|"
                         r"ich\s+meine|ich\s+meinte|korrektur|sorry|quatsch|oder\s+besser|oder\s+doch)\b", re.I)
_ORDINALS = {"erste": 0, "ersten": 0, "erster": 0, "zweite": 1, "zweiten": 1, "zweiter": 1, "dritte": 2,
             "dritten": 2, "dritter": 2, "letzte": -1, "letzten": -1, "letzter": -1}
_ORDINAL = re.compile(r"\b(" + "|".join(_ORDINALS) + r")\b", re.I)
_TOKEN = re.compile(r"\+?[\wäöüÄÖÜß'’\-]+|[,.!?;:]")
_BARE_NAME = re.compile(r"^\s*([A-ZÄÖÜ][\wäöüß'\-]+(?:\s+[A-ZÄÖÜ][\wäöüß'\-]+){1,3})\s*[.!]?\s*$")


@dataclass
class Word:
    text: str
    start: int
    label: Label = "unplaced"


@dataclass
class Understanding:
    text: str
    silent: bool = False
    intent: Intent | None = None
    intents: list[Intent] = field(default_factory=list)  # every wish of the turn, in spoken order
    dates: list[DateMention] = field(default_factory=list)
    name: str | None = None
    phone: str | None = None
    service: str | None = None
    replaced_service: str | None = None
    yes: bool = False
    no: bool = False
    thanks: bool = False
    corrected: bool = False
    ordinal: int | None = None
    wish: bool = False  # the turn asks for something (a booking word, a date, a service)
    words: list[Word] = field(default_factory=list)

    @property
    def unplaced(self) -> list[str]:
        return [w.text for w in self.words if w.label == "unplaced"]


def _label_spans(words: list[Word], spans: list[tuple[int, int]], label: Label) -> None:
    for word in words:
        if word.label == "unplaced" and any(start <= word.start < end for start, end in spans):
            word.label = label


def _intents(text: str, words: list[Word]) -> list[Intent]:
    found: list[tuple[int, Intent]] = []
    for intent, detect, owns in _INTENTS:
        match = detect.search(text)
        if match:
            found.append((match.start(), intent))
            _label_spans(words, [m.span() for m in owns.finditer(text)], "intent")
    if _WISH.search(text) and not any(i in ("reschedule", "cancel", "list") for _, i in found):
        found.append((_WISH.search(text).start(), "book"))  # type: ignore[union-attr]
    return [intent for _, intent in sorted(found)]


def _service(words: list[Word], wish: bool) -> tuple[str | None, str | None]:
    """The service phrase from the words left: runs of salon words, kept as spoken; the rest stays
    unplaced. A single unknown noun phrase in a wish ("ein Tattoo") goes to the core, which refuses."""
    runs: list[list[Word]] = []
    current: list[Word] = []
    for index, word in enumerate(words):
        lowered = word.text.lower()
        # a lone number is exactly what must not be guessed: it stays unplaced
        candidate = word.label == "unplaced" and word.text not in ",.!?;:" and not lowered.isdigit()
        glue = word.label in ("unplaced", "filler") and (lowered in CONNECTORS or word.text == ",")
        inside = glue and bool(current) and index + 1 < len(words) and words[index + 1].label == "unplaced"
        if (candidate and lowered not in CONNECTORS) or inside:
            current.append(word)
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    salon = [r for r in runs if any(is_service_word(w.text.lower()) or w.text.lower() in PERSONS for w in r)]
    chosen = salon or (runs if wish and len(runs) == 1 and len(runs[0]) <= 3 else [])
    replaced = [r for r in chosen if r[0].label == "unplaced" and _after_statt(words, r[0])]
    chosen = [r for r in chosen if r not in replaced]
    for run in chosen:
        for word in run:
            if word.label == "unplaced":
                word.label = "service"
    for run in replaced:
        for word in run:
            word.label = "replaced"
    # "Strähnchen, ach nee, doch lieber eine Tönung": what follows the last correction counts.
    if len(chosen) > 1:
        last_fix = max((w.start for w in words if w.label == "correction"), default=-1)
        later = [r for r in chosen if r[0].start > last_fix]
        if later and len(later) < len(chosen):
            for run in chosen:
                if run not in later:
                    for word in run:
                        word.label = "replaced"
            chosen = later
    phrase = " ".join(w.text for run in chosen for w in run).replace(" ,", ",")
    replaced_phrase = " ".join(w.text for run in replaced for w in run).replace(" ,", ",")
    return phrase or None, replaced_phrase or None


def _after_statt(words: list[Word], first: Word) -> bool:
    """"statt (einer) Tönung": the run follows 'statt' with at most filler between."""
    for word in reversed([w for w in words if w.start < first.start]):
        if word.label == "correction" and REPLACED.fullmatch(word.text.lower()):
            return True
        if word.label != "filler" or word.text in ",.!?;:":
            return False
    return False


def understand(turn: str | None, name_asked: bool = False) -> Understanding:
    text = (turn or "").strip()
    if not text or not re.search(r"\w", text):
        return Understanding(text=text, silent=True)
    result = Understanding(text=text)
    words = [Word(m.group(), m.start()) for m in _TOKEN.finditer(text)]
    result.words = words
    for word in words:
        if word.text in ",.!?;:":
            word.label = "filler"
    phones = phone_spans(text)
    if phones:
        result.phone = phones[0][2]
        _label_spans(words, [(s, e) for s, e, _ in phones], "phone")
    free = [w for w in words if w.label == "unplaced"]
    names = name_spans(text, [(w.start, w.start + len(w.text)) for w in words if w.label == "phone"], name_asked)
    if names:
        result.name = names[-1][2]  # "Jana, ach nein, Johanna Schulz": the last one said
        _label_spans(words, [(s, e) for s, e, _ in names], "name")
    spans = [s for s in date_spans(text) if not any(w.label in ("phone", "name") and s[0] <= w.start < s[1]
                                                     for w in words)]
    result.dates = date_mentions(text, spans)
    _label_spans(words, [(s, e) for s, e, _ in spans], "date")
    result.intents = _intents(text, words)
    corrections = list(_CORRECTION.finditer(text))
    # "absagen, ach nein, lieber verschieben": after a correction the wish said last counts
    result.intent = (result.intents[-1] if corrections else result.intents[0]) if result.intents else None
    result.yes = bool(_YES.search(text))
    result.no = bool(_NO.search(text))
    result.thanks = bool(re.search(r"\bdanke\b|vielen\s+dank|dankeschön", text, re.I))
    result.corrected = bool(corrections)
    _label_spans(words, [m.span() for m in corrections], "correction")
    _label_spans(words, [m.span() for m in REPLACED.finditer(text)], "correction")
    _label_spans(words, [m.span() for m in _YES.finditer(text)], "yes")
    _label_spans(words, [m.span() for m in _NO.finditer(text)], "no")
    ordinal = _ORDINAL.search(text)
    if ordinal:
        result.ordinal = _ORDINALS[ordinal.group(1).lower()]
    free = [w for w in words if w.label == "unplaced"]
    for word in free:
        lowered = word.text.lower()
        if lowered in CHOICE:
            word.label = "choice"
        elif lowered in CONTEXT:
            word.label = "context"
        elif lowered in FILLER and not is_service_word(lowered):
            word.label = "filler"
    result.wish = result.intent == "book" or bool(result.dates)
    result.service, result.replaced_service = _service(words, result.wish)
    # "Einen Damenschnitt bitte.": a salon word alone is a wish too ("Kartoffelsalat" is not)
    result.wish = result.wish or any(w.label == "service" and is_service_word(w.text.lower()) for w in words)
    return result


_CLAUSE_END = re.compile(r"(?<=[.!?;])\s+|\s+und\s+(?=(?:dann|außerdem|ausserdem|noch|gleich|auch|ich|einen|eine|"
                         r"wann|welche|hab|habe|können|könnten|bitte)\b)", re.I)


def wishes(turn: str | None) -> list[str]:
    """A turn cut into its wishes: "Sagen Sie den Termin morgen ab, und dann hätte ich gern …" is two.

    Pieces without a wish of their own (greetings, a name) stay with their neighbour, and so do
    pieces of the same wish, so a turn with one wish is never cut."""
    text = (turn or "").strip()
    cuts = [0, *[x for m in _CLAUSE_END.finditer(text) for x in (m.start(), m.end())], len(text)]
    spans = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2) if text[cuts[i]:cuts[i + 1]].strip()]
    merged: list[tuple[int, int, Intent | None]] = []
    for start, end in spans:
        intents = understand(text[start:end]).intents
        intent = intents[0] if len(intents) == 1 else None
        if merged and (intent is None or merged[-1][2] in (None, intent)):
            merged[-1] = (merged[-1][0], end, merged[-1][2] or intent)
        else:
            merged.append((start, end, intent))
    return [text[start:end] for start, end, _ in merged] or [text]


def service_phrase(text: str) -> str | None:
    """The service phrase of a text, as `understand` reads it (kept for callers of the old API)."""
    return understand(text).service


def bare_name(text: str) -> str | None:
    """A turn that is only a name ("Jana Schulz."), as an answer to 'Auf welchen Namen?'."""
    match = _BARE_NAME.match(text)
    if not match:
        heard = understand(text)
        return heard.name
    candidate = match.group(1)
    if any(w.lower() in FILLER or is_service_word(w.lower()) for w in candidate.split()):
        return None
    return candidate


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
