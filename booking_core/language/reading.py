"""Reading a caller's sentence into evidence: which salon concepts were said, where, how surely.

A `Vocabulary` knows every stem (lexicon + the catalog's own words) and which concept each stem
names. `read_utterance` turns a sentence into `Evidence`: one entry per concept a piece of a word
names, with its confidence, whether it was read exactly or through a slip (fuzzy), and whether the
caller negated it ("keine Farbe") — after dropping words that are people ("bei Herrn Schmidt",
"Frau Herrmann") and rejoining words that ASR split apart ("bala yage").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from booking_core.language.compounds import Piece, Segmenter
from booking_core.language.lexicon import (
    CANCELLATION_STEMS,
    CLAUSE_BREAKS,
    FUNCTION_WORDS,
    GENERIC_ACTIONS,
    HONORIFICS,
    NEGATIONS,
    RELATION_MARKERS,
)
from booking_core.language.text import fold, key

FOREIGN = "foreign"  # concept of services this catalog does not sell
_TOKEN = re.compile(r"[^\W_]+|[.,;:!?]")
_FUNCTION = frozenset(fold(w) for w in FUNCTION_WORDS)
_HONORIFIC = frozenset(fold(w) for w in HONORIFICS)
_RELATION = frozenset(fold(w) for w in RELATION_MARKERS)
_NEGATION = frozenset(fold(w) for w in NEGATIONS)
_BREAK = frozenset(fold(w) for w in CLAUSE_BREAKS)
_CANCEL = tuple(key(s) for s in CANCELLATION_STEMS)
_GENERIC = frozenset(fold(w) for w in GENERIC_ACTIONS)
# "ich bin Tina Färber", "hier spricht Bartels": what follows is a name, not a service.
_SELF_INTRO = frozenset({"bin", "heisse", "heis", "spricht", "namens"})
# "weiß ich noch nicht", "bin mir nicht sicher": undecided, not a refusal
_UNSURE = frozenset({"weiss", "weis", "sicher", "entschieden", "klar", "wusste"})
# words after which the wish before is taken back ("nein" and "sondern" are read as negations)
_CORRECTING = frozenset({"doch", "lieber", "eigentlich", "meinte", "korrektur",
                         "stattdessen", "vielmehr", "besser", "eher", "quatsch", "falsch"})
_ADDING = frozenset({"auch", "noch", "zusatzlich", "dazu", "ausserdem"})
_ALREADY = frozenset({"schon", "bereits"})
_AUX = ("ist", "sind", "wurde", "wurden", "habe", "hab", "hat", "haben", "war", "waren")
_INSTEAD = frozenset({"statt", "anstatt", "anstelle"})
_WEAK_COMPOUND = 0.75  # known head behind an unknown modifier: "Glatzenrasur", "Rückenmassage"
_MAX_CACHE = 20_000
# Reading a word costs about the square of its length (every cut of a compound is tried), so
# longer words are not read: a sentence's cost stays linear in its length.
MAX_WORD_LETTERS = 40


@dataclass(frozen=True)
class Reading:
    stem: str
    concept: str
    conf: float
    strong: bool  # the word names the concept outright (not a hint like "blond")
    fuzzy: bool
    piece: int


@dataclass(frozen=True)
class Evidence:
    concept: str
    conf: float
    strong: bool
    fuzzy: bool
    stem: str
    said: str
    slot: tuple[int, int]  # (word, piece): one piece of speech supports one claim
    negated: bool
    clause: int


@dataclass(frozen=True)
class Utterance:
    evidence: tuple[Evidence, ...]
    cancellation: bool
    generic_action: bool  # "machen", "in Form bringen": do something to a named object
    # Readings to try when the caller left a choice open ("Strähnchen oder Balayage",
    # "mit oder ohne Bart"): each drops the evidence of these clauses.
    alternatives: tuple[frozenset[int], ...] = ()


def _is_slip(heard: str, known: str) -> bool:
    """A slip keeps the word's onset (listeners and recognisers hold on to it: "sprechen" is no
    "Strähnchen") and changes one letter of a short word, two of a long one."""
    edits = 1 if len(heard) <= 7 else 2
    return heard[:2] == known[:2] and Levenshtein.distance(heard, known) <= edits


def _cutoff(length: int) -> float | None:
    """Minimum rapidfuzz ratio for a slip: short words must be exact (Bart/Braut, Damen/tönen)."""
    if length <= 4:
        return None
    if length == 5:
        return 88.0  # one letter added or lost
    return 83.0 if length <= 7 else 80.0  # one letter changed


class Vocabulary:
    def __init__(self, stems: dict[str, list[tuple[str, float, bool]]],
                 catalog_stems: frozenset[str] = frozenset(),
                 catalog_words: dict[str, str] | None = None) -> None:
        # the catalog's whole words as written (folded) -> their key: a typo is judged on the
        # word as typed, before sound rules reshape it ("Föhen" is one letter from "Föhnen")
        self._catalog_words = catalog_words or {}
        self._catalog_plain = sorted(self._catalog_words)
        self.stems = stems  # stem key -> [(concept, conf, strong)]
        self._segmenter = Segmenter(stems)
        # only words that name a concept outright (or a service's own words) can be misheard
        # into evidence; a slip of a hint ("besser" for "Messer") is a different word
        strong = [s for s, meanings in stems.items()
                  if s in catalog_stems or any(m[2] for m in meanings)]
        self._fuzzy_targets = sorted(s for s in strong if len(s) >= 4)
        self._fuzzy_targets_short = sorted(s for s in strong if len(s) >= 3)
        self._onsets = frozenset(s[:2] for s in self._fuzzy_targets_short)
        self._heads = frozenset(s for s in stems if len(s) >= 4)
        self._head_lengths = sorted({len(s) for s in self._heads})
        self._cache: dict[tuple[str, str], tuple[Reading, ...]] = {}

    def could_start(self, word_key: str) -> bool:
        """Whether `word_key` begins like a known word, exactly or as a slip keeps it."""
        return self._segmenter.starts_known(word_key) or word_key[:2] in self._onsets

    def split(self, word_key: str, *, allow_unknown: bool = False) -> list[Piece] | None:
        return self._segmenter.split(word_key, allow_unknown=allow_unknown)

    def read_word(self, word_key: str, plain: str = "") -> tuple[Reading, ...]:
        cached = self._cache.get((word_key, plain))
        if cached is None:
            if len(self._cache) >= _MAX_CACHE:
                self._cache.clear()
            cached = self._cache[(word_key, plain)] = self._read(word_key, plain)
        return cached

    def _read(self, k: str, plain: str) -> tuple[Reading, ...]:
        pieces = self.split(k)
        exact = self._readings(pieces, 1.0, fuzzy=False) if pieces else ()
        stem_share = sum(len(p.text) for p in pieces or () if p.stem) / len(k) if k else 0.0
        if exact and (any(r.strong for r in exact) or stem_share >= 0.7):
            return exact
        slipped = max((self._slip(k), self._typo(plain)),
                      key=lambda rs: max((r.conf for r in rs), default=0.0))
        if exact:
            # a hint plus many letters of grammar ("Blonderung" = blond + er + ung): a slip of
            # a real service word is the better reading
            sure = max(r.conf for r in exact)
            return slipped if slipped and max(r.conf for r in slipped) > sure else exact
        if slipped:
            return slipped
        pieces = self.split(k, allow_unknown=True) if self._ends_known(k) else None
        # German compounds put the head last: "Haarverlängerung" is no haircut, but
        # "Glatzenrasur" is a shave. Only a known head (not too short to be chance) counts.
        if pieces and pieces[-1].stem and len(pieces[-1].stem) >= 4:
            known = [p for p in pieces if p.stem]
            if all(len(p.text) >= 3 for p in pieces) and len(known) < len(pieces):
                return self._readings(pieces, _WEAK_COMPOUND, fuzzy=False)
        return ()

    def _ends_known(self, k: str) -> bool:
        """Whether `k` may end in a known head stem (with or without an ending)."""
        for base in (k, k[:-1], k[:-2], k[:-3]):
            if any(base[-n:] in self._heads for n in self._head_lengths if n < len(base)):
                return True
        return False

    def _readings(self, pieces: list[Piece], factor: float, *, fuzzy: bool) -> tuple[Reading, ...]:
        out = []
        for index, piece in enumerate(pieces):
            if piece.stem:
                for concept, conf, strong in self.stems[piece.stem]:
                    out.append(Reading(piece.stem, concept, conf * factor, strong, fuzzy, index))
        return tuple(out)

    def _closest(self, k: str) -> tuple[str, float] | None:
        cutoff = _cutoff(len(k))
        if cutoff is None:
            return None
        hit = process.extractOne(k, self._fuzzy_targets, scorer=fuzz.ratio, score_cutoff=cutoff)
        if not hit or not _is_slip(k, hit[0]):
            return None
        return hit[0], hit[1] / 100.0

    def _typo(self, plain: str) -> tuple[Reading, ...]:
        cutoff = _cutoff(len(plain))
        if cutoff is None or not self._catalog_plain:
            return ()
        hit = process.extractOne(plain, self._catalog_plain, scorer=fuzz.ratio,
                                 score_cutoff=cutoff)
        if not hit or not _is_slip(plain, hit[0]):
            return ()
        pieces = self.split(self._catalog_words[hit[0]])
        return self._readings(pieces, hit[1] / 100.0, fuzzy=True) if pieces else ()

    def _slip(self, k: str) -> tuple[Reading, ...]:
        """A misheard or misspelt word: the whole word, or one part of a compound, is close to a
        known stem ("tönnung", "damenschnidt", "keratinglätung")."""
        best: tuple[float, tuple[Reading, ...]] = (0.0, ())
        if k[:2] not in self._onsets:
            return ()  # every slip keeps the onset of some known word
        for stripped in {k} | {k[: -len(e)] for e in ("en", "n", "e", "s", "er") if k.endswith(e)}:
            hit = self._closest(stripped)
            if hit and hit[1] > best[0]:
                best = (hit[1], self._readings([Piece(k, hit[0])], hit[1], fuzzy=True))
        cutoff = _cutoff(len(k))
        if cutoff is None or len(k) < 6:
            return best[1]
        # one part of a compound slipped: judge the slip on the whole word, where one wrong
        # letter weighs what it weighs for the listener ("Bartpfläge", "Nasrasur")
        starts_known = self._segmenter.starts_known(k)
        for j in range(3, len(k) - 2):
            for exact_part, slipped_part, slipped_last in ((k[:j], k[j:], True),
                                                            (k[j:], k[:j], False)):
                if not (starts_known if slipped_last else self._segmenter.starts_known(
                        exact_part)):
                    continue
                known = self.split(exact_part)
                if not known:
                    continue
                part_hit = process.extractOne(slipped_part, self._fuzzy_targets_short,
                                              scorer=fuzz.ratio, score_cutoff=60)
                if not part_hit or part_hit[0][0] != slipped_part[0]:
                    continue  # the slipped part keeps its first letter too
                whole = exact_part + part_hit[0] if slipped_last else part_hit[0] + exact_part
                ratio = fuzz.ratio(k, whole) / 100.0
                if ratio * 100 < cutoff or ratio <= best[0] or not _is_slip(k, whole):
                    continue
                slip = Piece(slipped_part, part_hit[0])
                pieces = [*known, slip] if slipped_last else [slip, *known]
                best = (ratio, self._readings(pieces, ratio, fuzzy=True))
        return best[1]


@dataclass
class _Word:
    text: str  # folded, for word lists
    spoken: str  # casefolded with umlauts, for spelling keys
    clause: int
    readings: tuple[Reading, ...] = ()
    person: bool = False
    negated: bool = False
    not_only: bool = False  # "nicht nur …" adds rather than negates
    open_choice: bool = False  # "mit oder ohne …" leaves it open
    withdrawn: bool = False  # said, then corrected: "Tönung, nein, doch Färben"
    corrects: bool = False  # the first word after "lieber"/"stattdessen" (clause breaks)


def read_utterance(text: str, vocabulary: Vocabulary) -> Utterance:
    words, choices = _tokenize(text)
    for w in words:
        if w.text not in _FUNCTION and w.text not in _NEGATION:
            w.readings = _read_spoken(w.spoken, vocabulary)
    _rejoin_split_words(words, vocabulary)
    _mark_people(words, vocabulary)
    for i, w in enumerate(words):
        # "ach ne, Herrenschnitt": a spoken "nee", not "ne" for "eine"
        if w.text == "ne" and ((i and words[i - 1].text in {"ach", "oh", "ah"}) or
                               i + 1 == len(words) or words[i + 1].clause != w.clause):
            w.text = "nee"
    _mark_negations(words)
    _mark_corrections(words)
    cancellation = any(key(w.spoken).startswith(_CANCEL) for w in words)
    evidence = tuple(
        Evidence(r.concept, r.conf, r.strong, r.fuzzy, r.stem, w.text, (i, r.piece), w.negated,
                 w.clause)
        for i, w in enumerate(words) if not w.person and not w.withdrawn
        for r in w.readings
    )
    said_in = {e.clause for e in evidence if not e.negated}
    alternatives: list[frozenset[int]] = []
    for left, right, keep_both in choices:
        before = [c for c in said_in if c <= left]
        if right not in said_in or not before:
            continue
        alternatives += [frozenset(), frozenset({right})] if keep_both else [
            frozenset({right}), frozenset({max(before)})]
    generic = any(w.text in _GENERIC for w in words)
    return Utterance(evidence, cancellation, generic, tuple(dict.fromkeys(alternatives)))


def _read_spoken(spoken: str, vocabulary: Vocabulary) -> tuple[Reading, ...]:
    """"ae" is mostly a typed "ä" ("faerben"), sometimes a slip ("Daenschnitt"): try both."""
    if len(spoken) > MAX_WORD_LETTERS:
        return ()  # no salon word is this long; cutting it up costs the square of its length
    readings = vocabulary.read_word(key(spoken), fold(spoken))
    literal = key(spoken, typed_umlauts=False)
    if literal != key(spoken):
        other = vocabulary.read_word(literal, fold(spoken))
        if sum(r.conf for r in other) > sum(r.conf for r in readings):
            return other
    return readings


def _tokenize(text: str) -> tuple[list[_Word], list[tuple[int, int, bool]]]:
    """Words with their clause number; and every "oder" as (clause before, clause after,
    whether the first reading keeps both — "mit oder ohne Bart")."""
    words: list[_Word] = []
    choices: list[tuple[int, int, bool]] = []
    clause = 0
    previous = ""
    correcting = False
    spoken_text = unicodedata.normalize("NFKC", text).casefold()
    for spoken in _TOKEN.findall(spoken_text.replace("-", " ").replace("'", "")):
        token = fold(spoken)
        if not token[0].isalnum() or token in _BREAK:
            if token in {"nur", "bloss", "blos"} and previous in _NEGATION:
                words[-1].not_only = True
            if token == "oder":
                choices.append((clause, clause + 1, previous == "mit"))
            clause += 1
            correcting = correcting or token in _CORRECTING
        else:
            words.append(_Word(token, spoken, clause, corrects=correcting))
            correcting = False
            if token == "ohne" and choices and choices[-1][2] and previous == "oder":
                words[-1].open_choice = True
        previous = token
    return words, choices


def _is_open(w: _Word) -> bool:
    """A word no reading explains and no function word: maybe half of a split compound."""
    return not w.readings and w.text not in _FUNCTION and w.text not in _NEGATION


def _rejoin_split_words(words: list[_Word], vocabulary: Vocabulary) -> None:
    """ASR cuts rare compounds apart ("Föh nen", "hoch steck frisur", "Bala yage"). Words that
    make sense alone are only rejoined when the whole is a known word read exactly."""
    i = 0
    while i < len(words):
        for span in (3, 2):
            group = words[i:i + span]
            if len(group) < span or len({w.clause for w in group}) > 1:
                continue
            if not any(_is_open(w) and w.text not in _FUNCTION for w in group):
                continue
            if any(w.text in _NEGATION for w in group):
                continue
            joined = "".join(w.spoken for w in group)
            if not vocabulary.could_start(key(joined)):
                continue
            readings = _read_spoken(joined, vocabulary)
            if not readings:
                continue
            all_open = all(_is_open(w) for w in group)
            exact = all(not r.fuzzy and r.conf >= 0.8 for r in readings) and \
                vocabulary.split(key(joined)) is not None
            if exact or (all_open and all(r.conf >= 0.8 for r in readings)):
                group[0].text = fold(joined)
                group[0].spoken = joined
                group[0].readings = readings
                del words[i + 1:i + span]
                break
        i += 1


def _mark_people(words: list[_Word], vocabulary: Vocabulary) -> None:
    for i, w in enumerate(words[:-1]):
        nxt = words[i + 1]
        if nxt.text in _FUNCTION or _names_one_stem(nxt, vocabulary):
            continue
        after_honorific = w.text in _HONORIFIC and (i == 0 or words[i - 1].text not in _RELATION)
        introduced = w.text in _SELF_INTRO or (
            w.text == "ist" and i > 0 and words[i - 1].text in {"name", "hier"})
        if after_honorific:
            w.person = nxt.person = True
        elif introduced:
            nxt.person = True
            surname = words[i + 2] if i + 2 < len(words) else None
            if surname and surname.clause == nxt.clause and surname.text not in _FUNCTION \
                    and not _names_one_stem(surname, vocabulary):
                surname.person = True


def _names_one_stem(w: _Word, vocabulary: Vocabulary) -> bool:
    """An ordinary salon word ("Frau Bart" is odd, "Herr Bartels" is a person)."""
    pieces = vocabulary.split(key(w.spoken))
    return pieces is not None and len(pieces) == 1 and not any(r.fuzzy for r in w.readings)


def _mark_corrections(words: list[_Word]) -> None:
    """The last stated wish wins: "Tönung, nein, doch Färben", "lieber Färben", "ich meinte
    Färben" withdraw what was wished before; "Tönung statt Färben" / "statt Färben eine Tönung"
    withdraw the words after "statt"; "Föhnen …, aber ohne Föhnen" withdraws the earlier wish of
    what is refused later."""
    def wish(w: _Word) -> bool:
        return any(r.strong for r in w.readings) and not w.negated and not w.withdrawn

    for i, w in enumerate(words):
        if w.text in _INSTEAD:
            j = i + 1
            while j < len(words) and not words[j].readings and words[j].text in _FUNCTION:
                j += 1
            clause = words[j].clause if j < len(words) else -1
            while j < len(words) and words[j].readings and words[j].clause == clause:
                words[j].withdrawn = True
                j += 1
            continue
        says_so = w.text in _CORRECTING or (w.text == "meine" and i and words[i - 1].text == "ich")
        if says_so or w.corrects:
            rest = words[i:] if w.corrects else words[i + 1:]
            adding = rest and rest[0].text in _ADDING
            if any(wish(x) for x in rest) and not adding:
                for x in words[:i]:
                    x.withdrawn = x.withdrawn or wish(x)
    for i, w in enumerate(words):
        # "geschnitten ist schon", "bereits gewaschen": done already, not wished
        after = [x.text for x in words[i + 1:i + 4] if x.clause == w.clause]
        done = (i > 0 and words[i - 1].text in _ALREADY) or (
            bool(after) and after[0] in _AUX and any(t in _ALREADY for t in after[1:]))
        if w.text.startswith("ge") and w.readings and done:
            w.withdrawn = True
    for i, w in enumerate(words):
        if not w.negated or not w.readings:
            continue
        refused = {r.concept for r in w.readings if r.strong}
        phrase = [x for x in words if x.negated and x.clause == w.clause and x.readings]
        if len({r.concept for x in phrase for r in x.readings if r.strong}) != 1:
            continue  # "nicht Wimpern färben": the pair is refused, not each word of it
        for x in words[:i]:
            if not x.negated and refused & {r.concept for r in x.readings if r.strong} and \
                    x.clause != w.clause:
                x.withdrawn = True


def _mark_negations(words: list[_Word]) -> None:
    """"keine Farbe", "ohne Bart", "nicht färben": the next content words of the clause;
    "Färben möchte ich nicht", "Dauerwelle nein danke": the clause before a final "nicht"/"nein"
    ("nein" before a wish answers a question: "Nein, ich möchte eine Dauerwelle")."""
    for i, w in enumerate(words):
        if w.text in {"nein", "nee"}:
            if any(x.readings for x in words[:i] if x.clause == w.clause):
                for x in words[:i]:
                    x.negated = x.negated or x.clause == w.clause
            elif any(x.readings for x in words[i + 1:]):
                # "Damenschnitt? Nein, Herrenschnitt": a correction of the wish before it
                said_before = [x.clause for x in words[:i] if x.readings]
                for x in words[:i]:
                    x.negated = x.negated or (bool(said_before) and x.clause == said_before[-1])
            continue
        if w.text not in _NEGATION or w.not_only or w.open_choice:
            continue
        after = [x for x in words[i + 1:] if x.clause == w.clause]
        reach = [x for x in after if x.text not in _FUNCTION][:2]
        if any(x.readings for x in reach):
            for x in reach:
                x.negated = True
        elif w.text == "nicht" and not any(
                x.text in _UNSURE for x in words[:i] if x.clause == w.clause):
            for x in words[:i]:
                if x.clause == w.clause:
                    x.negated = True
