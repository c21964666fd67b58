"""Issue 16: a reading uses every date or time word it was given, or it is unclear; never another day."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from booking_core.language import phrases
from booking_core.language.bench import load
from booking_core.language.holidays import ClosedDays
from booking_core.language.matching import ServiceMatcher
from booking_core.language.text import fold
from booking_core.language.when import parse_when

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)  # a Tuesday
# The words of dates and times, listed here independently of the parser's own lists.
WHEN_WORDS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "heute",
              "morgen", "übermorgen", "Uhr", "halb", "Viertel", "Woche", "Wochen", "Dezember",
              "Januar", "Februar", "April", "Heiligabend", "Ostermontag", "Silvester",
              "vormittags", "nachmittags", "abends", "Wochenende", "Tagen", "Dinstag",
              "Geburtstag", "Ostern", "3.12.", "30.2.", "15:30", "25:00", "Monaten"]
OTHER_WORDS = ["am", "um", "in", "nächste", "übernächsten", "den", "ab", "bis", "zwei", "drei",
               "zehn", "15", "30.", "einer", "und", "vor", "nach", "gerne", "bitte", "ja",
               "nein", "lieber", "nicht", "gegen", "so", "der"]
CATALOG: list[str] = load("service_utterances.yaml")["catalog"]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(WHEN_WORDS + OTHER_WORDS), min_size=1, max_size=7))
def test_a_reading_uses_every_date_or_time_word_or_is_unclear(words: list[str]) -> None:
    found = parse_when(" ".join(words), now=NOW)
    if found is None or found.unclear:
        assert found is None or not found.date
        return
    heard = set(found.heard)
    said = {fold(w) for w in words if w in WHEN_WORDS}
    assert said <= heard, (words, found)


@pytest.mark.parametrize(("text", "reason", "message"), [
    ("am 30. Februar", "impossible_date", "Den 30. Februar gibt es nicht – welcher Tag passt Ihnen?"),
    ("am 31.4. um zehn", "impossible_date", "Den 31. April gibt es nicht – welcher Tag passt Ihnen?"),
    ("morgen um 25 Uhr", "impossible_time", "25 Uhr gibt es nicht – um wie viel Uhr möchten Sie kommen?"),
])
def test_impossible_days_and_hours_are_named_in_the_question(text: str, reason: str,
                                                             message: str) -> None:
    found = parse_when(text, now=NOW)
    assert found is not None and not found.date and found.unclear == reason
    assert phrases.unparseable_time(found.unclear, found.said) == message


@pytest.mark.parametrize("text", [
    "Dinstag um 10", "am Mitwoch", "Dienstag, den 2.12.", "morgen am Freitag", "nach Ostern",
    "an Weihnachten", "in zwei Monaten", "an meinem Geburtstag", "gestern um drei", "um 14:75",
    "Heiligabend 2025", "im Dezember 2027", "um drei oder um vier", "vor zwei Tagen",
    "am 3. Advent", "Freitag, den 13.",
])
def test_what_cannot_be_placed_is_unclear_not_another_day(text: str) -> None:
    found = parse_when(text, now=NOW)
    assert found is not None and not found.date and found.unclear, found


@pytest.mark.parametrize(("text", "day", "at"), [
    ("in zwei Wochen am Dienstag", date(2026, 12, 8), None),  # was read a week early
    ("in 3 Wochen am Freitag um zehn", date(2026, 12, 18), time(10)),
    ("heute in einer Woche", date(2026, 12, 1), None),
    ("übernächste Woche Donnerstag", date(2026, 12, 10), None),
    ("an Heiligabend um halb elf", date(2026, 12, 24), time(10, 30)),
    ("am Tag der Deutschen Einheit", date(2027, 10, 3), None),
    ("Pfingstmontag", date(2027, 5, 17), None),
    ("Montag viertel drei", date(2026, 11, 30), time(14, 15)),
    ("Montag drei viertel sechs", date(2026, 11, 30), time(17, 45)),
    ("Montag zehn vor halb fünf", date(2026, 11, 30), time(16, 20)),
    ("Freitag, den 27.11.", date(2026, 11, 27), None),
    ("Freitag, nicht Donnerstag", date(2026, 11, 27), None),
    ("übernächstes Wochenende", date(2026, 12, 5), None),
    ("Ende der Woche", date(2026, 11, 27), None),
    ("Mitte der übernächsten Woche", date(2026, 12, 9), None),
    ("Montag um 3 viertel 6", date(2026, 11, 30), time(17, 45)),
    ("Heiligabend 2027 um zehn", date(2027, 12, 24), time(10)),
    ("am ersten Weihnachtsfeiertag", date(2026, 12, 25), None),  # no "1st of the month"
    ("Montag um halb zwölf mittags", date(2026, 11, 30), time(11, 30)),
])
def test_relative_named_and_regional_forms(text: str, day: date, at: time | None) -> None:
    found = parse_when(text, now=NOW)
    assert found is not None and (found.date, found.time) == (day, at), found


@pytest.mark.parametrize(("text", "question"), [
    ("Dienstag, den 2.12.", "2.12. und Dienstag passen nicht zusammen – welcher Tag passt Ihnen?"),
    ("um drei oder um vier", "15 Uhr oder 16 Uhr – welche Uhrzeit ist Ihnen lieber?"),
    ("Montag oder Dienstag", "Montag oder Dienstag – welcher Tag ist Ihnen lieber?"),
    ("morgen um drei, um vier", "15 Uhr und 16 Uhr passen nicht zusammen – welche Uhrzeit passt Ihnen?"),
    ("am Dinstag", "„Dinstag“ habe ich nicht verstanden – an welchem Tag möchten Sie kommen?"),
    ("an Weihnachten", "Weihnachten ist mehr als ein Tag – an welchem Tag genau möchten Sie kommen?"),
])
def test_the_question_back_names_what_was_unclear(text: str, question: str) -> None:
    found = parse_when(text, now=NOW)
    assert found is not None and found.unclear
    assert phrases.unparseable_time(found.unclear, found.said) == question


def test_parts_of_next_week_are_a_stretch_of_days() -> None:
    found = parse_when("Ende nächster Woche", now=NOW)
    assert found is not None and found.days == (date(2026, 12, 4), date(2026, 12, 5))
    assert found.date == date(2026, 12, 4)


def test_a_states_public_holidays_close_the_salon() -> None:
    berlin, none = ClosedDays("BE"), ClosedDays(None)
    assert berlin.reason(date(2026, 12, 25)) == "Erster Weihnachtstag"
    assert berlin.reason(date(2026, 3, 8)) == "Frauentag"  # Berlin's own
    assert ClosedDays("BY").reason(date(2026, 3, 8)) is None
    assert berlin.reason(date(2026, 12, 24)) is None and none.reason(date(2026, 12, 25)) is None


@pytest.mark.parametrize(("text", "meant"), [
    ("Damenschnitt, nein, doch Färben", "Färben"),
    ("Tönung statt Färben", "Tönung"),
    ("statt Färben eine Tönung", "Tönung"),
    ("nicht Färben, sondern Tönung", "Tönung"),
    ("Strähnchen, aber lieber doch Balayage", "Balayage"),
    ("Herrenschnitt, also eigentlich ein Maschinenhaarschnitt", "Maschinenhaarschnitt"),
    ("Herrenschnitt, kein Bart", "Herrenschnitt"),
    ("Färben oder lieber Tönung", "Tönung"),
    ("Damenschnitt, ach ne, Herrenschnitt", "Herrenschnitt"),
    ("anstatt einer Blondierung lieber Strähnchen", "Strähnchen"),
    ("Damenschnitt, sorry, ich meine Herrenschnitt", "Herrenschnitt"),
    ("Ich hätte gern ne Tönung", "Tönung"),
])
def test_the_last_stated_wish_wins(text: str, meant: str) -> None:
    assert ServiceMatcher(CATALOG).match(text).name == meant


def test_a_refused_part_of_a_package_is_not_booked() -> None:
    assert ServiceMatcher(CATALOG).match("Waschen, Schneiden, Föhnen, aber ohne Föhnen").name is None


def test_long_unspaced_words_get_no_service_and_overlong_text_is_refused() -> None:
    matcher = ServiceMatcher(CATALOG)
    assert matcher.match("haarxyz" * 70 + "schnitt").name is None
    assert matcher.match("Damenschnitt " * 400).reason == "none"


@pytest.mark.parametrize("text", [
    "Name: Kaspar Sontag. Bartpflege übermorgen um 17 Uhr.",
    "Bartpflege übermorgen um 17 Uhr, Sontag ist mein Name",
    "Hier ist Frau Dinstag, übermorgen um 17 Uhr bitte",
])
def test_a_surname_that_looks_like_a_misheard_day_is_a_name(text: str) -> None:
    reading = parse_when(text, NOW)
    assert reading is not None and not reading.unclear
    assert (reading.date, reading.time) == (date(2026, 11, 26), time(17, 0))


def test_a_misheard_day_outside_a_name_is_still_asked_back() -> None:
    reading = parse_when("am Dinstag um 17 Uhr", NOW)
    assert reading is not None and not reading.date and reading.unclear == "unknown_word"
