"""German number words as callers say them: "fünfzehn", "dreiundzwanzig", "dritten", "zwo".

Words arrive folded (`text.fold`: "fünf" -> "funf", "dreißig" -> "dreissig").
"""

from __future__ import annotations

_UNITS = {
    "null": 0, "eins": 1, "ein": 1, "zwei": 2, "zwo": 2, "drei": 3, "vier": 4, "funf": 5,
    "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwolf": 12,
    "dreizehn": 13, "vierzehn": 14, "funfzehn": 15, "sechzehn": 16, "siebzehn": 17,
    "achtzehn": 18, "neunzehn": 19,
}
_TENS = {"zwanzig": 20, "dreissig": 30, "dreisig": 30, "vierzig": 40, "funfzig": 50}
# ordinal stems: "erste", "dritte", "siebte"; the regular rest is cardinal + "te"/"ste"
_ORDINAL_STEMS = {"erst": 1, "zweit": 2, "dritt": 3, "viert": 4, "funft": 5, "sechst": 6,
                  "siebt": 7, "siebent": 7, "acht": 8, "neunt": 9}
_ORDINAL_ENDINGS = ("en", "er", "em", "es", "e", "")


def cardinal(word: str) -> int | None:
    """0..59 from a folded word or digits; "ein" only as a whole word the caller said."""
    if word.isdigit():
        return int(word)
    if word in _UNITS:
        return _UNITS[word]
    if word in _TENS:
        return _TENS[word]
    unit, sep, tens = word.partition("und")
    if sep and tens in _TENS and unit in _UNITS and 0 < _UNITS[unit] < 10:
        return _TENS[tens] + _UNITS[unit]
    return None


def ordinal(word: str) -> int | None:
    """1..31 from "ersten", "dritte", "zwanzigsten", "einunddreißigsten", "3."."""
    if word.endswith(".") and word[:-1].isdigit():
        return int(word[:-1])
    for ending in _ORDINAL_ENDINGS:
        if ending and not word.endswith(ending):
            continue
        stem = word[: len(word) - len(ending)] if ending else word
        if stem in _ORDINAL_STEMS:
            return _ORDINAL_STEMS[stem]
        for suffix in ("st", "t"):
            if stem.endswith(suffix):
                value = cardinal(stem[: -len(suffix)])
                if value is not None and value >= (20 if suffix == "st" else 4):
                    return value
    return None
