"""The agent's reading of German caller turns: segmenting only, never matching or parsing dates."""

from __future__ import annotations

import pytest

from harness.speech import bare_name, spoken_clock, understand


@pytest.mark.parametrize(("turn", "service"), [
    ("Ich möchte einen Damenschnitt buchen", "Damenschnitt"),
    ("Ich hätte gern Waschen, Schneiden, Föhnen nächsten Dienstag", "Waschen, Schneiden, Föhnen"),
    ("Einen Herrenschnitt mit Bart am 3. Dezember um halb drei", "Herrenschnitt mit Bart"),
    ("Augenbrauen zupfen lassen, übermorgen gegen vier", "Augenbrauen zupfen"),
    ("Meine Tochter braucht einen Haarschnitt, morgen um 14 Uhr.", "Tochter Haarschnitt"),
])
def test_service_phrase_as_spoken(turn: str, service: str) -> None:
    assert understand(turn).service == service


def test_date_mentions_keep_the_callers_words() -> None:
    heard = understand("Guten Morgen, ich möchte nächsten Dienstag vormittags kommen")
    assert [m.phrase() for m in heard.dates] == ["nächsten Dienstag vormittags"]  # not "Morgen"
    moved = understand("Ich möchte meinen Termin von morgen um 10 Uhr auf übermorgen 11 Uhr verschieben")
    assert moved.intent == "reschedule"
    assert [(m.phrase(), m.lead) for m in moved.dates] == [("morgen um 10 Uhr", "von"), ("übermorgen 11 Uhr", "auf")]
    assert understand("Dann lieber um vier").dates[0].time == "um vier"
    assert understand("2026-12-01T10:00:00+01:00 bitte").dates[0].phrase() == "2026-12-01T10:00:00+01:00"


def test_names_intents_and_answers() -> None:
    assert understand("Mein Name ist Jana Schulz und ich möchte buchen").name == "Jana Schulz"
    assert understand("hier spricht Karl-Heinz von Müller").name == "Karl-Heinz von Müller"
    assert bare_name("Jana Schulz.") == "Jana Schulz" and bare_name("ja klar") is None
    assert understand("Ich muss meinen Termin absagen").intent == "cancel"
    assert understand("Welche Termine habe ich?").intent == "list"
    assert understand("Was bieten Sie an?").intent == "services"
    yes = understand("Ja, der zweite passt")
    assert yes.yes and yes.ordinal == 1 and yes.service is None
    assert not understand("ich hätte gern einen Termin").yes  # "gern" in a wish is no "yes"
    assert understand("").silent and understand("...").silent


def test_spoken_clock_in_salon_hours() -> None:
    assert spoken_clock("um zehn") == (10, 0)
    assert spoken_clock("halb drei") == (14, 30)
    assert spoken_clock("um 15 Uhr") == (15, 0)
    assert spoken_clock("viertel nach neun") == (9, 15)
