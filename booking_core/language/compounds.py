"""Cutting German words into known stems: "Herrenhaarschnitt" = herren + haar + schnitt.

German glues nouns together and inflects verbs around their stems, so a matcher that only knows
"Tönung" and "schnitt" must still read "Tönungen", "geschnitten" and "Kinderhaarschnitt". The
segmenter finds the cheapest cut of a word (already a `text.key`) into known stems, linking
letters (Hochzeit-s-frisur), an inflection ending and a participle prefix. Unknown chunks are
allowed only when asked for (service names may contain words no lexicon knows).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from booking_core.language.text import key

# Endings keyed like the stems they follow ("ungen" for Tönungen, "t" for gefärbt).
_ENDINGS = frozenset(key(e) for e in (
    "e", "en", "n", "s", "es", "er", "ern", "em", "et", "t", "te", "ten", "st", "ung", "ungen",
    "chen", "lein", "ig", "ige", "igen", "isch",
))
_LINKERS = frozenset({"s", "n", "en", "e", "es", "er"})
_PREFIXES = frozenset({"ge", "ab", "nach", "aus"})
_STEM_COST, _LINK_COST, _END_COST, _PREFIX_COST = 1.0, 0.3, 0.2, 0.3
_MIN_STEM, _MIN_UNKNOWN = 3, 3


@dataclass(frozen=True)
class Piece:
    text: str  # the part of the word
    stem: str | None  # the known stem it is, None for an unknown chunk


class Segmenter:
    def __init__(self, stems: Collection[str]) -> None:
        # stems by their first letters, so each position looks at a handful, not all
        self._by_onset: dict[str, list[str]] = {}
        for stem in sorted({s for s in stems if len(s) >= _MIN_STEM}):
            self._by_onset.setdefault(stem[:_MIN_STEM], []).append(stem)

    def starts_known(self, word: str) -> bool:
        """Whether a known stem could begin `word` (a cheap test before trying harder)."""
        return word[:_MIN_STEM] in self._by_onset

    def split(self, word: str, *, allow_unknown: bool = False) -> list[Piece] | None:
        """Cheapest cut of `word` into pieces; None when it contains no known stem (or, without
        `allow_unknown`, anything that is not a known stem, link, ending or prefix)."""
        n = len(word)
        # best[i] = (cost, pieces) for word[:i]; linkers and endings only after a stem
        best: list[tuple[float, list[Piece]] | None] = [None] * (n + 1)
        best[0] = (0.0, [])
        for i in range(n):
            here = best[i]
            if here is None:
                continue
            cost, pieces = here
            after_stem = bool(pieces) and bool(pieces[-1].stem)
            for stem in self._by_onset.get(word[i:i + _MIN_STEM], ()):
                if word.startswith(stem, i):
                    _relax(best, i + len(stem), cost + _STEM_COST, [*pieces, Piece(stem, stem)])
            if i == 0:
                for prefix in _PREFIXES:
                    if word.startswith(prefix):
                        _relax(best, len(prefix), cost + _PREFIX_COST, [Piece(prefix, "")])
            if after_stem:
                rest = word[i:]
                if rest in _ENDINGS:
                    _relax(best, n, cost + _END_COST, [*pieces, Piece(rest, "")])
                for link in _LINKERS:
                    if word.startswith(link, i) and i + len(link) < n:
                        _relax(best, i + len(link), cost + _LINK_COST,
                               [*pieces, Piece(link, "")])
            if allow_unknown and (not pieces or pieces[-1].stem is not None):
                for j in range(i + _MIN_UNKNOWN, n + 1):
                    _relax(best, j, cost + 2.0 + 0.3 * (j - i), [*pieces, Piece(word[i:j], None)])
        result = best[n]
        if result is None:
            return None
        pieces = [p for p in result[1] if p.stem != ""]  # drop links, endings, prefixes
        return pieces if any(p.stem for p in pieces) else None


def _relax(best: list[tuple[float, list[Piece]] | None], j: int, cost: float,
           pieces: list[Piece]) -> None:
    current = best[j]
    if current is None or cost < current[0]:
        best[j] = (cost, pieces)
