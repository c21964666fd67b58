"""Which of the salon's services did the caller ask for?

How a match is made (every step shows up in `ServiceMatch.detail`):

1. Every service name (and alias) is cut into concepts: "Kinderhaarschnitt" = children + hair + cut,
   "Waschen, Schneiden, Föhnen" = wash + cut + blow-dry. Words the lexicon does not know become
   concepts of their own, so any catalog works.
2. The caller's sentence is read into the same concepts (`reading`): exact stems after
   spelling folds, ASR slips scored with rapidfuzz against stems (never against the whole
   sentence), paraphrases through the salon lexicon ("meine Tochter" = children), minus people's
   names and negated words.
3. Each service scores 0..100: the weighted share of its concepts the caller said, times how surely
   each was said (a slip or a paraphrase counts a little less than the name's own word).
4. A service whose evidence is only part of a better service's evidence drops out ("Wimpern färben"
   said: "Färben" drops out; "Färben" said: "Ansatzfärben" scores half and drops out).
5. A name is given only to the best service that accounts for everything the caller asked for.
   Ties ("einen Haarschnitt" with several haircuts), two wishes no single service covers
   ("Damenschnitt und Färben"), services the salon does not sell and cancellations get no name;
   the candidates say what to ask back.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from booking_core.language.lexicon import CONCEPTS, FOREIGN_SERVICES, FUNCTION_WORDS
from booking_core.language.reading import (
    FOREIGN,
    Evidence,
    Utterance,
    Vocabulary,
    read_utterance,
)
from booking_core.language.text import fold, key

# A caller's wish is a sentence or two (the corpus' longest: under 100 characters); reading costs
# about linear time in the text, up to ~0.05 ms CPU a character for junk, so this caps a call.
MAX_UTTERANCE_CHARS = 500
DEFAULT_THRESHOLD = 45.0  # about half of a service's concepts said
_ONLY_HINTS_THRESHOLD = 70.0  # nothing but hints ("blond machen") must fit a service fully
_STRONG = 0.85  # a word at least this sure names its concept outright
_LEXICON_FACTOR = 0.95  # a paraphrase is a little less sure than the service's own word
_MAX_CANDIDATES = 6
_NAME_SPLIT = re.compile(r"[\W_]+")
_FUNCTION = frozenset(fold(w) for w in FUNCTION_WORDS)
_WEIGHT = {c.name: c.weight for c in CONCEPTS}
_ROLE = {c.name: c.role for c in CONCEPTS}
_DOING = {"action": "action", "manner": "action", "object": "object", "whom": "whom"}


@dataclass(frozen=True)
class ServiceMatch:
    name: str | None  # None when nothing fits, when it is ambiguous, negated or a cancellation
    score: float  # 0..100, of the named service (or the best candidate)
    candidates: list[tuple[str, float]]  # best first, for asking back
    reason: str  # exact | alias | fuzzy | lexicon | ambiguous | negated | none
    detail: str = ""  # human-readable why


@dataclass(frozen=True)
class _Part:
    concept: str
    weight: float
    stem: str  # how the service name itself says it


@dataclass(frozen=True)
class _Form:
    service: str
    order: int
    parts: tuple[_Part, ...]
    alias: bool


@dataclass(frozen=True)
class _Scored:
    form: _Form
    score: float
    coverage: float
    support: frozenset[tuple[int, int]]
    heard: frozenset[str]  # the service's concepts the caller said
    own: bool  # all of them in the service name's own words (no paraphrase, no slip)
    how: str  # exact | alias | fuzzy | lexicon
    picks: tuple[tuple[str, str, float], ...]  # (concept, word heard, how sure)

    @property
    def why(self) -> str:
        return f"{self.form.service}: " + ", ".join(
            f"{concept}←'{said}' ({value:.2f})" for concept, said, value in self.picks)

    @property
    def concepts(self) -> frozenset[str]:
        return frozenset(p.concept for p in self.form.parts if p.weight > 0)


class ServiceMatcher:
    """Build once per catalog (it precomputes everything), then `match()` per utterance."""

    def __init__(self, services: Sequence[str] | Mapping[str, Sequence[str]], *,
                 threshold: float | None = None) -> None:
        catalog = dict(services) if isinstance(services, Mapping) else {s: () for s in services}
        self.names: list[str] = list(catalog)
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        stems: dict[str, list[tuple[str, float, bool]]] = defaultdict(list)
        for concept in CONCEPTS:
            for stem, conf in concept.stems:
                for variant in _spellings(stem):
                    stems[variant].append((concept.name, conf, conf >= _STRONG))
        for stem in FOREIGN_SERVICES:
            for variant in _spellings(stem):
                stems[variant].append((FOREIGN, 1.0, True))
        lexicon = Vocabulary(dict(stems))
        self._forms: list[_Form] = []
        for order, (name, aliases) in enumerate(catalog.items()):
            for text, is_alias in [(name, False), *((a, True) for a in aliases)]:
                parts = _parts_of(text, lexicon, stems)
                if parts:
                    self._forms.append(_Form(name, order, parts, is_alias))
        own_words = frozenset(p.stem for f in self._forms for p in f.parts)
        written = {fold(w): key(w) for text in (*catalog, *(a for al in catalog.values() for a in al))
                   for w in _NAME_SPLIT.split(text.casefold()) if len(w) >= 5}
        self._vocabulary = Vocabulary({s: m for s, m in stems.items() if m}, own_words, written)
        self._catalog_concepts = frozenset(p.concept for f in self._forms for p in f.parts)
        self._forms_with: dict[str, list[int]] = defaultdict(list)
        for i, form in enumerate(self._forms):
            for part in form.parts:
                if part.weight > 0:
                    self._forms_with[part.concept].append(i)

    def match(self, utterance: str) -> ServiceMatch:
        if len(utterance or "") > MAX_UTTERANCE_CHARS:
            # a per-call bound on work: no wish is this long, ask back rather than read on
            return ServiceMatch(None, 0.0, [], "none", "too long to read as one wish")
        heard = read_utterance(utterance or "", self._vocabulary)
        if not heard.alternatives:
            return self._judge(heard.evidence, heard)
        readings = [self._judge(tuple(e for e in heard.evidence if e.clause not in dropped), heard)
                    for dropped in heard.alternatives]
        if len({r.name for r in readings}) == 1 and readings[0].name is not None:
            return readings[0]
        # the caller left it open: ask back with what each reading would book first
        named = [(r.name, r.score) for r in readings if r.name]
        rest = [c for r in readings for c in r.candidates]
        candidates = list(dict.fromkeys(named + rest))
        merged: dict[str, float] = {}
        for name, score in candidates:
            merged.setdefault(name, score)
        if len(merged) < 2:
            return readings[0]
        return ServiceMatch(None, max((r.score for r in readings), default=0.0),
                            list(merged.items())[:_MAX_CANDIDATES], "ambiguous",
                            "the caller left a choice open: " + " / ".join(
                                str(r.name) for r in readings))

    def _rank(self, evidence: Sequence[Evidence]) -> tuple[list[_Scored], list[_Scored], set[str]]:
        said = [e for e in evidence if not e.negated]
        denied = {e.concept for e in evidence if e.negated} - {e.concept for e in said}
        by_concept: dict[str, list[Evidence]] = defaultdict(list)
        for e in said:
            by_concept[e.concept].append(e)
        best: dict[str, _Scored] = {}
        relevant = {i for c in by_concept for i in self._forms_with.get(c, ())}
        for form in (self._forms[i] for i in sorted(relevant)):
            scored = _score(form, by_concept, denied)
            if scored and (form.service not in best or scored.score > best[form.service].score):
                best[form.service] = scored
        ranked = sorted(best.values(), key=lambda s: (-s.score, -s.coverage, s.form.order))
        frontier = [s for s in ranked if not any(_dominates(t, s) for t in ranked if t is not s)]
        return ranked, frontier, denied

    def _judge(self, evidence: Sequence[Evidence], heard: Utterance) -> ServiceMatch:
        ranked, frontier, denied = self._rank(evidence)
        candidates = [(s.form.service, round(s.score, 1)) for s in frontier[:_MAX_CANDIDATES]]
        if heard.cancellation:
            return ServiceMatch(None, 0.0, candidates, "negated",
                                "a cancellation, not a booking wish")
        if not frontier:
            if denied:
                return ServiceMatch(None, 0.0, [], "negated", f"negated: {', '.join(denied)}")
            return ServiceMatch(None, 0.0, [], "none", "no service word heard")
        said = [e for e in evidence if not e.negated]
        wished = {e.concept for e in said if e.strong and _WEIGHT.get(e.concept, 1.0) > 0}
        # "Tönung für meine Frau": whom a service is for only matters where it tells services
        # of one kind apart (Damen-/Herrenschnitt), not as a wish of its own
        for whom in [c for c in wished if _ROLE.get(c) == "whom"]:
            what = wished - {whom}
            if what and not any(whom in s.concepts and s.concepts & what for s in frontier):
                wished.discard(whom)
        # whom, what on, or how, where no service of this catalog asks: it cannot pick one
        wished -= {c for c in wished if _ROLE.get(c, "action") != "action"
                   and c not in self._catalog_concepts}
        explainers = [s for s in frontier if wished <= s.concepts]
        winner = self._decide(explainers, frontier, bool(wished), heard.generic_action)
        if winner is not None:
            second = self._second_wish(winner, said)
            if second is not None:
                both = [(winner.form.service, round(winner.score, 1)),
                        (second.form.service, round(second.score, 1))]
                rest = [c for c in candidates if c[0] not in {n for n, _ in both}]
                return ServiceMatch(None, round(winner.score, 1), both + rest, "ambiguous",
                                    f"two wishes: {winner.form.service} and "
                                    f"{second.form.service}")
            rest = [c for c in candidates if c[0] != winner.form.service]
            return ServiceMatch(winner.form.service, round(winner.score, 1),
                                [(winner.form.service, round(winner.score, 1)), *rest],
                                winner.how, winner.why)
        top = frontier[0]
        if len(candidates) >= 2:
            unexplained = sorted(wished - top.concepts)
            why = (f"also asked for {', '.join(unexplained)}" if unexplained and not explainers
                   else "several services fit equally")
            return ServiceMatch(None, round(top.score, 1), candidates, "ambiguous", why)
        return ServiceMatch(None, round(top.score, 1), candidates, "none",
                            f"too little said for a booking ({top.why})")

    def _decide(self, explainers: list[_Scored], frontier: list[_Scored], has_wish: bool,
                generic_action: bool) -> _Scored | None:
        if not explainers:
            return None
        best = explainers[0]
        roles = {_DOING.get(_ROLE.get(c, "action"), "") for c in best.heard}
        has_action = any(_DOING[_ROLE.get(c, "action")] == "action" for c in best.concepts)
        if has_action and "action" not in roles and not ("object" in roles and generic_action):
            return None  # whom or what, but not what to do: "für meine Frau", "mein Bart juckt"
        if has_wish:
            if best.score < self.threshold:
                return None
        else:
            # nothing but hints ("blond machen"): they must fit one service fully, and no
            # service that has the very word in its name may compete ("Pflege")
            if best.coverage < 1.0 or best.score < max(self.threshold, _ONLY_HINTS_THRESHOLD):
                return None
            if any(s.own and s.support & best.support for s in frontier if s is not best):
                return None
        if best.coverage < 1.0 and any(
                s.coverage == 1.0 and s.support < best.support for s in frontier):
            return None  # "waschen und föhnen": the package or only the blow-dry? ask back
        if len(explainers) > 1:
            second = explainers[1]
            # partial fits differ only in wording ("schneiden" vs "Schnitt"): still a tie
            margin = 0.5 if best.coverage == 1.0 else best.score * (1 - _LEXICON_FACTOR)
            if second.score >= best.score - margin and second.coverage >= best.coverage:
                return None  # a tie: ask back
        return best

    def _second_wish(self, winner: _Scored, said: list[Evidence]) -> _Scored | None:
        """"Haare färben und Wimpern färben": the winner used one "färben"; a clause that on its
        own books something else is a second wish."""
        used_clauses = {e.clause for e in said if e.slot in winner.support}
        for clause in sorted({e.clause for e in said if e.strong and e.slot not in winner.support
                              and e.concept in winner.concepts} - used_clauses):
            own = [e for e in said if e.clause == clause]
            _, frontier, _ = self._rank(own)
            if frontier and frontier[0].coverage == 1.0 and frontier[0].score >= self.threshold \
                    and frontier[0].form.service != winner.form.service:
                return frontier[0]
        return None


def _spellings(stem: str) -> set[str]:
    """Keys of a stem as said and with its "ä" lost, as ASR and ASCII typists lose it."""
    return {key(stem), key(stem.replace("ä", "a").replace("Ä", "A"))}


def _parts_of(text: str, lexicon: Vocabulary,
              stems: dict[str, list[tuple[str, float, bool]]]) -> tuple[_Part, ...]:
    """Cut a service name into concepts; words the lexicon lacks become their own concepts."""
    parts: dict[str, _Part] = {}
    for word in _NAME_SPLIT.split(text.casefold()):
        if not word or fold(word) in _FUNCTION:
            continue
        word_key = key(word)
        pieces = lexicon.split(word_key, allow_unknown=True) or []
        if not pieces:
            pieces_found: list[tuple[str, str]] = [
                (variant, f"lit:{word_key}") for variant in sorted(_spellings(word))]
        else:
            pieces_found = []
            strongest: dict[str, float] = {}
            for piece in pieces:
                for c, conf, _ in stems.get(piece.stem or "", [])[:1]:
                    strongest[c] = max(strongest.get(c, 0.0), conf)
            for piece in pieces:
                meanings = stems.get(piece.stem or "", [])
                concepts = [(c, conf) for c, conf, _ in meanings if c != FOREIGN]
                if piece.stem and concepts and concepts[0][1] >= strongest[concepts[0][0]]:
                    pieces_found.append((piece.stem, concepts[0][0]))
                elif piece.text.isdigit():
                    continue
                else:
                    pieces_found.append((piece.stem or piece.text, f"lit:{piece.stem or piece.text}"))
        for stem, concept in pieces_found:
            if concept.startswith("lit:"):
                # the catalog's own word is always matchable, and never "not sold here"
                for other in [s for s in stems if stem in s or s in stem]:
                    stems[other] = [m for m in stems[other] if m[0] != FOREIGN]
                if (concept, 1.0, True) not in stems[stem]:
                    stems[stem].append((concept, 1.0, True))
            parts.setdefault(concept, _Part(concept, _WEIGHT.get(concept, 1.0), stem))
    if parts and all(p.weight == 0 for p in parts.values()):
        parts = {c: _Part(c, 1.0, p.stem) for c, p in parts.items()}
    return tuple(parts.values())


def _score(form: _Form, said: Mapping[str, list[Evidence]], denied: set[str]) -> _Scored | None:
    tied: list[tuple[_Part, list[Evidence], float]] = []
    for part in form.parts:
        options = said.get(part.concept)
        if not options:
            if part.concept in denied:
                return None  # the caller said they do not want this part
            continue
        valued = [(_value(e, part), e) for e in options]
        top = max(v for v, _ in valued)
        ties = [e for v, e in valued if v == top]
        tied.append((part, ties, top[0]))
    picks: list[tuple[_Part, Evidence, float]]
    if len(tied) > 1 and any(len(ties) > 1 for _, ties, _ in tied):
        # a word said twice ("Haare färben und Wimpern färben"): use the one said with the rest
        settled = [ties[0] for _, ties, _ in tied if len(ties) == 1]
        picks = [(part, ties[0] if len(ties) == 1 else min(ties, key=lambda e: (
            sum(a.clause != e.clause for a in settled),
            sum(abs(a.slot[0] - e.slot[0]) for a in settled))), value)
            for part, ties, value in tied]
    else:
        picks = [(part, ties[0], value) for part, ties, value in tied]
    total = sum(p.weight for p in form.parts)
    got = matched = 0.0
    support: set[tuple[int, int]] = set()
    heard: set[str] = set()
    hows: set[str] = set()
    for part, ev, value in picks:
        hows.add("fuzzy" if ev.fuzzy else "lexicon" if value < ev.conf else
                 "alias" if form.alias else "exact")
        if part.weight > 0:
            got += part.weight * value
            matched += part.weight
            support.add(ev.slot)
            heard.add(part.concept)
    if matched == 0:
        return None
    coverage = matched / total
    lexical = "lexicon" in hows
    if coverage < 1.0:
        hows.add("lexicon")  # a partial match is an interpretation, not a name heard
    how = next(h for h in ("fuzzy", "lexicon", "alias", "exact") if h in hows)
    own = not lexical and "fuzzy" not in hows
    return _Scored(form, 100.0 * got / total, coverage, frozenset(support), frozenset(heard), own,
                   how, tuple((p.concept, ev.said, v) for p, ev, v in picks))


def _value(ev: Evidence, part: _Part) -> tuple[float, bool]:
    return ev.conf * (1.0 if _same_word(ev.stem, part.stem) else _LEXICON_FACTOR), not ev.fuzzy


def _same_word(said: str, named: str) -> bool:
    """One word family of one concept: "kind"/"kinder", "schneid"/"schnitt", "rasier"/"rasur"."""
    return said[:3] == named[:3] or said in named or named in said


def _dominates(t: _Scored, s: _Scored) -> bool:
    """t makes s pointless: everything that speaks for s speaks for t, and more of t was said —
    the most specific service wins, the shorter one only when only it was said."""
    if not s.support <= t.support or t.score < s.score:
        return False
    if s.own and not t.own:
        return False  # a paraphrase never silences a service whose own word was said
    return t.coverage > s.coverage or (s.support < t.support and t.coverage >= s.coverage)
