"""ServiceMatcher on the behaviours issue 5 names, with phrasings and catalogs beyond the corpus."""

from __future__ import annotations

import dataclasses
import time

import pytest

from booking_core.language.bench import EXTRA_SERVICES, load
from booking_core.language.matching import ServiceMatch, ServiceMatcher

CATALOG: list[str] = load("service_utterances.yaml")["catalog"]


@pytest.fixture(scope="module")
def salon() -> ServiceMatcher:
    return ServiceMatcher(CATALOG)


@pytest.fixture(scope="module")
def small() -> ServiceMatcher:
    """The issue's own example catalog: fewer services, so different neighbours."""
    return ServiceMatcher(["Herrenschnitt", "Damenschnitt", "Kinderhaarschnitt", "Färben",
                           "Tönung", "Bartpflege", "Brautfrisur"])


def names(match: ServiceMatch) -> list[str]:
    return [n for n, _ in match.candidates]


# ---------------------------------------------------------------- API

def test_result_is_frozen_and_explained(salon: ServiceMatcher) -> None:
    r = salon.match("Ich möchte einen Damenschnitt buchen")
    assert (r.name, r.reason) == ("Damenschnitt", "exact")
    assert r.score == 100.0 and r.candidates[0] == ("Damenschnitt", 100.0)
    assert "damenschnitt" in r.detail.lower()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.name = "Färben"  # type: ignore[misc]


def test_names_keep_catalog_order_and_spelling() -> None:
    m = ServiceMatcher({"Waschen, Schneiden, Föhnen": [], "Färben": ["Coloration"]})
    assert m.names == ["Waschen, Schneiden, Föhnen", "Färben"]


def test_aliases_match_and_are_reported() -> None:
    m = ServiceMatcher({"Herrenschnitt": ["Gentlemen Cut"], "Damenschnitt": []})
    r = m.match("einmal den gentlemen cut bitte")
    assert (r.name, r.reason) == ("Herrenschnitt", "alias")


def test_catalog_words_the_lexicon_does_not_know() -> None:
    m = ServiceMatcher(["Microblading", "Olaplex-Behandlung", "Damenschnitt"])
    assert m.match("Ich hätte gern Microbleding").name == "Microblading"
    assert m.match("eine Olaplex Behandlung bitte").name == "Olaplex-Behandlung"


def test_a_service_named_like_a_foreign_one_is_sold_here() -> None:
    m = ServiceMatcher(["Maniküre", "Damenschnitt"])
    assert m.match("Was kostet bei Ihnen eine Maniküre?").name == "Maniküre"


def test_candidates_best_first_and_deterministic(salon: ServiceMatcher) -> None:
    first = salon.match("Ich hätte gern einen Haarschnitt")
    scores = [s for _, s in first.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(salon.match("Ich hätte gern einen Haarschnitt") == first for _ in range(3))
    assert ServiceMatcher(CATALOG).match("Ich hätte gern einen Haarschnitt") == first


def test_threshold_keyword_makes_it_stricter() -> None:
    strict = ServiceMatcher(CATALOG, threshold=90)
    assert strict.match("Damenschnitt").name == "Damenschnitt"
    assert strict.match("nur den Bart bitte, in Form bringen").name is None  # half a service


def test_scores_stay_in_range(salon: ServiceMatcher) -> None:
    for text in ["", "ja", "Balayasch", "Herrenschnitt und Bart", "keine Farbe"]:
        r = salon.match(text)
        assert 0 <= r.score <= 100 and all(0 <= s <= 100 for _, s in r.candidates)


# ---------------------------------------------------------------- inside real sentences

@pytest.mark.parametrize("text", [
    "also ähm ja ich hätt gern so nen Damenschnitt",
    "DAMENSCHNITT",
    "Grüß Gott, hier ist die Müller, haben Sie Donnerstag was frei für einen Damenschnitt?",
    "damen schnidt",
    "Damenhaarschnitt bitte",
])
def test_name_in_a_sentence_any_case_and_slip(salon: ServiceMatcher, text: str) -> None:
    assert salon.match(text).name == "Damenschnitt"


@pytest.mark.parametrize(("text", "service"), [
    ("Foehnen", "Föhnen"), ("Fohnen", "Föhnen"), ("fönen", "Föhnen"),
    ("Kinder haar schnitt", "Kinderhaarschnitt"), ("bart pflege", "Bartpflege"),
    ("Balayasch", "Balayage"), ("Tönnung", "Tönung"), ("Herrenhaarschnitt", "Herrenschnitt"),
    ("Tönungen", "Tönung"), ("tönen lassen", "Tönung"), ("Blondirung bitte", "Blondierung"),
    ("Dauerwele", "Dauerwelle"), ("Keratinglätung", "Keratin-Glättung"),
    ("Hochsteck frisur", "Hochsteckfrisur"), ("gefärbte Wimpern", "Wimpern färben"),
])
def test_asr_and_spelling_variants(salon: ServiceMatcher, text: str, service: str) -> None:
    r = salon.match(text)
    assert r.name == service, r


@pytest.mark.parametrize(("text", "service"), [
    ("Für meinen Mann bitte einen Haarschnitt", "Herrenschnitt"),
    ("Schnitt für eine Frau", "Damenschnitt"),
    ("Mein Enkel braucht einen neuen Schnitt", "Kinderhaarschnitt"),
    ("Den Bart bitte etwas stutzen", "Bartpflege"),
    ("Ich will meine Haare braun haben", "Färben"),
    ("Ich möchte glatte Haare, also glätten", "Keratin-Glättung"),
    ("Locken hätte ich gern", "Dauerwelle"),
    ("einmal kurz mit der Maschine", "Maschinenhaarschnitt"),
])
def test_lexicon_paraphrases(salon: ServiceMatcher, text: str, service: str) -> None:
    r = salon.match(text)
    assert (r.name, r.reason) == (service, "lexicon"), r


# ---------------------------------------------------------------- most specific wins

def test_longer_service_wins_when_the_longer_thing_is_said(salon: ServiceMatcher) -> None:
    assert salon.match("Ansatz färben bitte").name == "Ansatzfärben"
    assert salon.match("Wimpern färben").name == "Wimpern färben"
    assert salon.match("Herrenschnitt mit Bart").name == "Herrenschnitt mit Bart"
    assert salon.match("waschen, schneiden, föhnen").name == "Waschen, Schneiden, Föhnen"


def test_shorter_service_wins_when_only_it_is_said(salon: ServiceMatcher) -> None:
    assert salon.match("Nur färben bitte").name == "Färben"
    assert salon.match("Einen Herrenschnitt").name == "Herrenschnitt"
    assert salon.match("nur föhnen").name == "Föhnen"


# ---------------------------------------------------------------- ambiguity and no match

@pytest.mark.parametrize("text", ["Ich hätte gern einen Haarschnitt", "Haare schneiden bitte"])
def test_generic_haircut_is_ambiguous(small: ServiceMatcher, text: str) -> None:
    r = small.match(text)
    assert r.name is None and r.reason == "ambiguous"
    assert {"Herrenschnitt", "Damenschnitt", "Kinderhaarschnitt"} <= set(names(r))


@pytest.mark.parametrize("text", [
    "Ich möchte meinen Termin absagen", "Können Sie den Damenschnitt stornieren?",
    "Haben Sie am Samstag geöffnet?", "Was kostet bei Ihnen eine Pediküre?",
    "Machen Sie auch Haarverlängerungen?", "Ich möchte Gelnägel", "ja", "nein danke",
    "Hallo, guten Tag", "", "...", "Wie ist Ihre Telefonnummer?",
])
def test_nothing_to_book(small: ServiceMatcher, text: str) -> None:
    assert small.match(text).name is None


def test_a_service_missing_from_the_catalog_is_not_replaced(small: ServiceMatcher) -> None:
    for text in ["Ich hätte gern eine Dauerwelle", "Balayage bitte", "Strähnchen",
                 "Strähnchen färben", "Färben und Föhnen"]:
        assert small.match(text).name is None, text


def test_other_catalogs_other_neighbours() -> None:
    barber = ServiceMatcher(["Haarschnitt", "Bart trimmen", "Rasur", "Haarschnitt + Bart",
                             "Kinderschnitt", "Augenbrauen"])
    assert barber.match("eine Nassrasur bitte").name == "Rasur"  # how, not what: still a shave
    assert barber.match("Augenbrauen zupfen").name == "Augenbrauen"
    assert barber.match("keine Rasur, nur den Bart trimmen").name == "Bart trimmen"
    assert barber.match("Herr Bartels hier").name is None
    salon = ServiceMatcher(["Schneiden & Föhnen", "Färben", "Kurzhaarschnitt",
                            "Langhaarschnitt"])
    assert salon.match("kurze Haare schneiden").name == "Kurzhaarschnitt"
    assert salon.match("lange Haare schneiden").name == "Langhaarschnitt"
    r = salon.match("schneiden")
    assert r.name is None and {"Kurzhaarschnitt", "Langhaarschnitt"} <= set(names(r))


# ---------------------------------------------------------------- traps no threshold fixes

def test_negation(salon: ServiceMatcher) -> None:
    r = salon.match("keine Farbe, nur schneiden")
    assert r.name is None and "Färben" not in names(r)
    assert {"Herrenschnitt", "Damenschnitt"} <= set(names(r))
    assert salon.match("Nicht färben, nur tönen").name == "Tönung"
    assert salon.match("Herrenschnitt, aber ohne Bart").name == "Herrenschnitt"
    assert salon.match("Strähnchen will ich nicht, lieber eine Balayage").name == "Balayage"
    assert salon.match("Bitte keine Dauerwelle").reason == "negated"


def test_corrections_take_the_later_wish(salon: ServiceMatcher) -> None:
    assert salon.match("Damenschnitt? Nein, Herrenschnitt").name == "Herrenschnitt"
    assert salon.match("Dauerwelle nein danke, lieber glätten").name == "Keratin-Glättung"
    assert salon.match("Nein, ich möchte eine Dauerwelle").name == "Dauerwelle"


def test_two_services_in_one_sentence(salon: ServiceMatcher) -> None:
    r = salon.match("Ich hätte gern eine Tönung und danach noch eine Kopfmassage")
    assert r.name is None and {"Tönung", "Kopfmassage"} <= set(names(r))
    r = salon.match("Damenschnitt und Strähnchen")
    assert r.name is None and {"Damenschnitt", "Strähnchen"} <= set(names(r))


@pytest.mark.parametrize("text", [
    "Ich hätte gern einen Termin bei Herrn Schmidt",
    "Frau Herrmann hier, ist mein Termin noch aktuell?",
    "Herr Bartels am Apparat",
    "Mein Name ist Damen, Sabine Damen",
])
def test_people_are_not_services(salon: ServiceMatcher, text: str) -> None:
    assert salon.match(text).name is None


def test_people_names_do_not_colour_the_service(salon: ServiceMatcher) -> None:
    assert salon.match("Herr Bartels, ich hätte gern eine Nassrasur").name == "Nassrasur"
    assert salon.match("Hier ist Frau Herrmann, einmal Strähnchen bitte").name == "Strähnchen"


def test_short_phonetic_collisions(salon: ServiceMatcher) -> None:
    assert salon.match("Bart pflegen lassen").name == "Bartpflege"
    assert salon.match("die Braut braucht eine Frisur").name == "Brautfrisur"
    assert "Brautfrisur" not in names(salon.match("Bart"))
    assert salon.match("Damen").name != "Tönung"
    assert "Damenschnitt" not in names(salon.match("tönen"))


def test_fifty_services_under_a_millisecond_per_match() -> None:
    matcher = ServiceMatcher(CATALOG + list(EXTRA_SERVICES))
    texts = [u["text"] for u in load("service_utterances.yaml")["utterances"]]
    start = time.process_time()
    for text in texts:
        matcher.match(text)
    per_match_ms = (time.process_time() - start) * 1000 / len(texts)
    # the bench holds the 1 ms target; here a loaded CI box gets slack, a regression does not
    assert per_match_ms < 3.0
