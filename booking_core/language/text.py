"""Spelling-tolerant keys for German words as they arrive from speech recognition.

Callers' words reach us through ASR or typing: "Föhnen", "Foehnen" and "Fohnen" are one word,
"schnidt" is "schnitt", "Balayasch" is "Balayage". `key()` folds such variants onto one string
so that exact lookups catch them and fuzzy scoring only has to handle real slips. The key stays
a readable string (not a phonetic code) so that every match can be explained.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Order matters: digraphs after the umlaut fold, so "ö" and "oe" land on the same "o".
_REWRITES: tuple[tuple[str, str], ...] = (
    ("ß", "ss"),
    ("dt", "t"),
    ("th", "t"),
    ("ph", "f"),
    ("ck", "k"),
    ("qu", "kw"),
    ("ie", "i"),
    ("y", "i"),
    ("j", "i"),
)
# Typed umlauts ("Foehnen"), but not a diphthong before an "e" (Augenbrauen, Dauerwelle).
_TYPED_UMLAUT = re.compile(r"(?<![aeiou])([aou])e")


def _umlaut(m: re.Match[str]) -> str:
    return "e" if m.group(1) == "a" else m.group(1)
# A silent "h" after a vowel (Föhn/Fön, Strähne/Strehne) is what ASR and spellers drop most.
_SILENT_H = re.compile(r"(?<=[aeiou])h(?![aeiou])")
# French loans are said with a German "sch": Balayage -> "Balayasch", Massage -> "Massasch".
_FRENCH_AGE = re.compile(r"age\b")
_WORD = re.compile(r"[a-z0-9]+")


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKC, casefold, umlauts to base vowels."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("ß", "ss")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=8192)
def key(text: str, typed_umlauts: bool = True) -> str:
    """Spelling key of a word or phrase: `fold` plus German sound-alike rewrites. "ä" is said
    like "e" (Strähnchen/Strehnchen, färben/ferben); a lost umlaut ("farben") is a slip.
    `typed_umlauts=False` keeps "ae"/"oe"/"ue" as written (a slip like "Daenschnitt")."""
    text = fold(unicodedata.normalize("NFKC", text).casefold().replace("ä", "e"))
    if typed_umlauts:
        text = _TYPED_UMLAUT.sub(_umlaut, text)
    text = _FRENCH_AGE.sub("asch", text)
    for old, new in _REWRITES:
        text = text.replace(old, new)
    return _SILENT_H.sub("", text)


def words(text: str) -> list[str]:
    """The folded words of `text` (no keys), for rule-based readers like the time parser."""
    return _WORD.findall(fold(text).replace("-", " "))
