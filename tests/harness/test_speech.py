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


# Phrasings that went wrong in the agent (issue 19): each was a silent misreading before.
@pytest.mark.parametrize(("turn", "dates"), [
    ("Ähm ja hallo, ich bräuchte nächste Woche Freitag um zehn einen Herrenschnitt", ["nächste Woche Freitag um zehn"]),
    ("Freitag nächste Woche um 11 Uhr bitte eine Tönung", ["Freitag nächste Woche um 11 Uhr"]),
    ("Kommende Woche am Dienstag gegen vier", ["Kommende Woche am Dienstag gegen vier"]),
    ("übernächste Woche Mittwoch um 9", ["übernächste Woche Mittwoch um 9"]),
    ("Freitag in einer Woche um 15 Uhr", ["Freitag in einer Woche um 15 Uhr"]),
    ("in drei Tagen um halb zwölf", ["in drei Tagen um halb zwölf"]),
    ("am dritten Dezember um 10 Uhr eine Tönung", ["am dritten Dezember um 10 Uhr"]),
    ("Samstag früh um neun eine Brautfrisur", ["Samstag früh um neun"]),
])
def test_day_qualifiers_stay_with_their_day(turn: str, dates: list[str]) -> None:
    assert [m.phrase() for m in understand(turn).dates] == dates


def test_a_time_corrected_mid_sentence_keeps_its_day() -> None:
    heard = understand("Einen Damenschnitt morgen um drei, ach nee, lieber um vier. Jana Schulz.")
    assert [m.phrase() for m in heard.dates] == ["morgen um drei", "um vier"]
    assert heard.service == "Damenschnitt" and heard.name == "Jana Schulz" and not heard.unplaced


@pytest.mark.parametrize(("turn", "name"), [
    ("Jana Schulz ist mein Name, ich hätte gern eine Tönung am Donnerstag", "Jana Schulz"),
    ("Hallo, Hans Meier am Apparat.", "Hans Meier"),
    ("Guten Tag, ich möchte übermorgen um elf einen Damenschnitt, Jana Schulz.", "Jana Schulz"),
    ("Nassrasur am Freitag um elf. Karl Berger.", "Karl Berger"),
    ("Name: Peter Krause. Bartpflege übermorgen.", "Peter Krause"),
    ("Grüß Gott, hier ist die Jana.", "Jana"),
    ("Ich bin die Jana und hätte gern einen Pony schneiden", "Jana"),
    ("Meier mit ei, Hans Meier hier.", "Hans Meier"),
])
def test_names_anywhere_and_never_in_the_service(turn: str, name: str) -> None:
    heard = understand(turn)
    assert heard.name == name and not heard.unplaced
    assert name.split()[-1] not in (heard.service or "")


def test_a_service_word_is_never_a_name() -> None:
    assert understand("Ich möchte morgen um zehn kommen, Damenschnitt.").name is None
    assert bare_name("Damenschnitt.") is None


@pytest.mark.parametrize(("turn", "phone"), [
    ("Meine Nummer ist null eins fünf eins zwei drei vier fünf sechs sieben acht", "+491512345678"),
    ("Sie erreichen mich unter 0170 9876543.", "+491709876543"),
    ("Meine Nummer: +49 30 1234567", "+49301234567"),
])
def test_phone_numbers_in_digits_or_words(turn: str, phone: str) -> None:
    heard = understand(turn)
    assert heard.phone == phone and not heard.unplaced


@pytest.mark.parametrize(("turn", "intent"), [
    ("Wann genau hatte ich nochmal den Termin?", "list"),
    ("Hab ich morgen was bei Ihnen?", "list"),
    ("Ich schaffe es am Dienstag leider nicht.", "cancel"),
    ("Können wir das auf Freitag legen?", "reschedule"),
    ("Ich möchte absagen, ach nein, verschieben Sie ihn lieber auf Samstag.", "reschedule"),
])
def test_intents_as_callers_say_them(turn: str, intent: str) -> None:
    heard = understand(turn)
    assert heard.intent == intent and not heard.unplaced


def test_replaced_and_corrected_services() -> None:
    assert understand("Ich hätte gern Strähnchen statt einer Tönung am Freitag").service == "Strähnchen"
    assert understand("Eine Tönung, ach nein, doch lieber eine Dauerwelle").service == "Dauerwelle"


def test_words_that_fit_nowhere_are_reported_not_guessed() -> None:
    heard = understand("Einen Damenschnitt, wenn die Kühe fliegen")
    assert heard.unplaced == ["Kühe", "fliegen"]
    labels = {w.text: w.label for w in understand("Ähm, also, einen Herrenschnitt morgen um 10, Jana Schulz.").words}
    assert labels["Ähm"] == "filler" and labels["Herrenschnitt"] == "service" and labels["Jana"] == "name"
    assert labels["morgen"] == "date"


def test_a_turn_is_cut_into_its_wishes_only_where_the_wish_changes() -> None:
    from harness.speech import wishes

    assert wishes("Ich möchte meinen Termin morgen absagen, und dann hätte ich gern einen Herrenschnitt.") == [
        "Ich möchte meinen Termin morgen absagen,", "dann hätte ich gern einen Herrenschnitt."]
    assert wishes("Hab ich morgen was bei Ihnen? Und ich bräuchte noch eine Tönung.") == [
        "Hab ich morgen was bei Ihnen?", "Und ich bräuchte noch eine Tönung."]
    one = "Hallo, hier ist Jana Schulz. Ich hätte gern einen Herrenschnitt und einen Bart."
    assert wishes(one) == [one]


def test_surnames_with_salon_stems_after_a_cue_and_last_name_first() -> None:
    assert understand("Schneider mein Name, ich hätte gerne einen Termin zum Haare färben.").name == "Schneider"
    assert understand("Mein Name ist Tönung").name is None  # a service word is never a name, cue or not
    assert understand("Becker, Thomas.", name_asked=True).name == "Thomas Becker"


def test_a_lone_number_is_asked_back_and_a_negated_day_is_replaced() -> None:
    heard = understand("Nein, um 11 kann ich nicht, geht auch 12?")
    assert heard.unplaced == ["12"] and heard.service is None
    days = understand("Sorry, ich meinte natürlich Mittwoch, nicht Dienstag.").dates
    assert [(d.phrase(), d.replaced) for d in days] == [("Mittwoch", False), ("Dienstag", True)]


@pytest.mark.parametrize(("turn", "name", "dates"), [
    ("Hallo, ich bin's, die Maria Huber. Strähnchen, nächsten Freitag um zehn.", "Maria Huber",
     ["nächsten Freitag um zehn"]),
    ("Eine Brautfrisur, und zwar am Samstag, den 20. Juni, um 8 Uhr morgens.", None,
     ["am Samstag", "den 20. Juni um 8 Uhr morgens"]),
    ("Ich bin Neukundin und hätte gern einen Damenschnitt übermorgen um 10.", None, ["übermorgen um 10"]),
    ("Für den 15. um 10 Uhr hätte ich gern eine Dauerwelle.", None, ["Für den 15. um 10 Uhr"]),
])
def test_more_everyday_phrasings(turn: str, name: str | None, dates: list[str]) -> None:
    heard = understand(turn)
    assert heard.name == name and [d.phrase() for d in heard.dates] == dates and not heard.unplaced
