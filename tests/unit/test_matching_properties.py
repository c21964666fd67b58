"""Property: a service name, mangled once the way speech recognition and typists mangle it, still
finds its service — inside a caller's sentence, in any case.

Perturbations stay realistic: one per utterance, only on words of six letters or more, never on
the first two letters (recognisers and listeners keep a word's onset), compounds split only
where German puts a boundary, umlauts written out or lost.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking_core.language.bench import BERLIN, load
from booking_core.language.matching import ServiceMatcher
from booking_core.language.when import parse_when

CATALOG: list[str] = load("service_utterances.yaml")["catalog"]
MATCHER = ServiceMatcher(CATALOG)
NOW = datetime(2026, 11, 27, 19, 30, tzinfo=BERLIN)
# where the catalog's compounds break into words of their own
BOUNDARIES = ("herren", "damen", "kinder", "haar", "maschinen", "bart", "nass", "ansatz",
              "dauer", "hoch", "steck", "braut", "kopf", "keratin")
CARRIERS = ("{}", "Ich hätte gern {} bitte", "ähm ja also {}", "Haben Sie morgen Zeit für {}?",
            "{}, geht das am Samstag?")
UMLAUTS = {"ä": ("ae", "a"), "ö": ("oe", "o"), "ü": ("ue", "u"), "Ä": ("Ae", "A"),
           "Ö": ("Oe", "O"), "Ü": ("Ue", "U"), "ß": ("ss",)}


def _long_words(name: str) -> list[int]:
    return [i for i, w in enumerate(name.split(" ")) if len(w.strip(",")) >= 6]


@st.composite
def asr_variants(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(CATALOG))
    words = name.split(" ")
    kind = draw(st.sampled_from(["drop", "double", "split", "umlaut", "case"]))
    candidates = _long_words(name)
    if kind == "umlaut" and any(ch in UMLAUTS for ch in name):
        spots = [i for i, ch in enumerate(name) if ch in UMLAUTS]
        at = draw(st.sampled_from(spots))
        mangled = name[:at] + draw(st.sampled_from(UMLAUTS[name[at]])) + name[at + 1:]
    elif kind == "split":
        lowered = name.lower()
        cuts = [lowered.index(b) + len(b) for b in BOUNDARIES
                if b in lowered and lowered.index(b) + len(b) < len(lowered)
                and lowered[lowered.index(b) + len(b)].isalpha()]
        if not cuts:
            return name, name
        at = draw(st.sampled_from(cuts))
        mangled = name[:at] + " " + name[at:]
    elif kind in {"drop", "double"} and candidates:
        w = draw(st.sampled_from(candidates))
        word = words[w]
        at = draw(st.integers(2, len(word.rstrip(",")) - 1))
        dropped, doubled = word[:at] + word[at + 1:], word[:at] + word[at] + word[at:]
        words[w] = dropped if kind == "drop" else doubled
        mangled = " ".join(words)
    else:
        mangled = draw(st.sampled_from([name.lower(), name.upper()]))
    carrier = draw(st.sampled_from(CARRIERS))
    return carrier.format(mangled), name


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(asr_variants())
def test_one_asr_slip_still_finds_the_service(case: tuple[str, str]) -> None:
    heard, meant = case
    result = MATCHER.match(heard)
    assert result.name == meant, (heard, result)


@pytest.mark.parametrize("name", CATALOG)
def test_every_name_matches_itself(name: str) -> None:
    assert MATCHER.match(name).name == name


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(max_size=120))
def test_any_text_gives_an_answer_never_an_error(text: str) -> None:
    result = MATCHER.match(text)
    assert result.name is None or result.name in CATALOG
    assert result.reason in {"exact", "alias", "fuzzy", "lexicon", "ambiguous", "negated", "none"}
    assert (result.name is None) or result.candidates[0][0] == result.name
    found = parse_when(text, now=NOW)
    assert found is None or found.date is None or found.date >= NOW.date()
