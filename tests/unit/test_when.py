"""parse_when on the phrases issue 5 names and on rules the module documents."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from booking_core.language.when import WhenResult, parse_when

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)  # the issue's example
SATURDAY_EVENING = datetime(2026, 11, 28, 17, 30, tzinfo=BERLIN)


def when(text: str, now: datetime = TUESDAY, **hours: time) -> tuple[object, ...] | None:
    found = parse_when(text, now=now, **hours)
    return None if found is None else (found.date, found.time, found.window)


def test_issue_example() -> None:
    w = parse_when("morgen um halb drei", now=TUESDAY)
    assert w == WhenResult(date(2026, 11, 25), time(14, 30), None)
    assert parse_when("irgendwann mal", now=TUESDAY) is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.date = date(2026, 1, 1)  # type: ignore[misc]


@pytest.mark.parametrize(("text", "expected"), [
    ("morgen um 15 Uhr", (date(2026, 11, 25), time(15), None)),
    ("nächsten Dienstag vormittags", (date(2026, 12, 1), None, (time(9), time(12)))),
    ("am 3. Dezember um halb drei", (date(2026, 12, 3), time(14, 30), None)),
    ("übermorgen gegen vier", (date(2026, 11, 26), time(16), None)),
    ("nächste Woche Mittwoch", (date(2026, 12, 2), None, None)),
    ("in einer Woche", (date(2026, 12, 1), None, None)),
    ("am dritten Dezember", (date(2026, 12, 3), None, None)),
    ("am 3.12.", (date(2026, 12, 3), None, None)),
    ("3.12.2026", (date(2026, 12, 3), None, None)),
    ("in zwei Tagen", (date(2026, 11, 26), None, None)),
])
def test_days(text: str, expected: tuple[object, ...]) -> None:
    assert when(text) == expected


@pytest.mark.parametrize(("text", "at"), [
    ("Donnerstag um 15 Uhr", time(15)), ("Donnerstag um 15:30", time(15, 30)),
    ("Donnerstag 16 Uhr 30", time(16, 30)), ("Donnerstag um drei", time(15)),
    ("Donnerstag halb drei", time(14, 30)), ("Donnerstag Viertel nach zehn", time(10, 15)),
    ("Donnerstag Viertel vor vier", time(15, 45)), ("Donnerstag dreiviertel vier", time(15, 45)),
    ("Donnerstag zehn nach elf", time(11, 10)), ("Donnerstag fünf vor halb drei", time(14, 25)),
    ("Donnerstag gegen vier", time(16)), ("donnerstag um 15 uhr 30", time(15, 30)),
    ("Donnerstag fünfzehn Uhr dreißig", time(15, 30)), ("Donnerstag halb 3", time(14, 30)),
    ("DONNERSTAG UM ZWÖLF", time(12)), ("Donnerstag um eins", time(13)),
])
def test_times_in_business_hours(text: str, at: time) -> None:
    assert when(text) == (date(2026, 11, 26), at, None)


@pytest.mark.parametrize(("text", "window"), [
    ("Donnerstag kurz nach zwei", (time(14), time(14, 15))),
    ("Donnerstag früh", (time(9), time(11))),
    ("Donnerstag vormittags", (time(9), time(12))),
    ("Donnerstag mittags", (time(12), time(14))),
    ("Donnerstag nachmittags", (time(14), time(18))),
    ("Donnerstag abends", (time(17), time(18))),
    ("Donnerstag ab 15 Uhr", (time(15), time(18))),
    ("Donnerstag zwischen 10 und 12", (time(10), time(12))),
    ("Donnerstag ab halb drei", (time(14, 30), time(18))),
    ("Donnerstag bis Viertel nach zehn", (time(9), time(10, 15))),
    ("Donnerstag am späten Vormittag", (time(10, 30), time(12))),
])
def test_parts_of_the_day_are_windows(text: str, window: tuple[time, time]) -> None:
    assert when(text) == (date(2026, 11, 26), None, window)


def test_morgen_is_a_day_and_morgen_frueh_a_morning() -> None:
    assert when("morgen") == (date(2026, 11, 25), None, None)
    assert when("morgen früh") == (date(2026, 11, 25), None, (time(9), time(11)))
    assert when("heute Morgen") == (date(2026, 11, 24), None, (time(9), time(11)))


def test_opening_hours_decide_the_hour() -> None:
    assert when("Donnerstag um acht", opening=time(8)) == (date(2026, 11, 26), time(8), None)
    assert when("Donnerstag um sieben", closing=time(20)) == (date(2026, 11, 26), time(19), None)
    assert when("Donnerstag um sieben", opening=time(7)) == (date(2026, 11, 26), time(7), None)
    assert when("Donnerstag abends", closing=time(20)) == (
        date(2026, 11, 26), None, (time(17), time(20)))
    assert when("Donnerstag abends um sieben") == (date(2026, 11, 26), time(19), None)


def test_only_a_time_means_today_if_still_ahead_else_tomorrow() -> None:
    assert when("um 15 Uhr") == (date(2026, 11, 24), time(15), None)
    assert when("um halb zehn") == (date(2026, 11, 25), time(9, 30), None)
    assert when("vormittags", now=SATURDAY_EVENING)[0] == date(2026, 11, 29)  # type: ignore


def test_weekday_rules() -> None:
    assert when("Dienstag")[0] == date(2026, 12, 1)  # type: ignore[index]  # today: next week
    assert when("heute, Dienstag")[0] == date(2026, 11, 24)  # type: ignore[index]
    assert when("Mittwoch")[0] == date(2026, 11, 25)  # type: ignore[index]
    assert when("nächsten Mittwoch")[0] == date(2026, 11, 25)  # type: ignore[index]
    assert when("kommenden Montag")[0] == date(2026, 11, 30)  # type: ignore[index]
    assert when("übernächsten Mittwoch")[0] == date(2026, 12, 2)  # type: ignore[index]
    assert when("Mittwoch nächste Woche")[0] == date(2026, 12, 2)  # type: ignore[index]
    assert when("Donnerstag in einer Woche")[0] == date(2026, 12, 3)  # type: ignore[index]
    assert when("Dienstag in zwei Wochen")[0] == date(2026, 12, 8)  # type: ignore[index]


def test_always_in_the_future_across_new_year() -> None:
    late_december = datetime(2026, 12, 30, 12, 0, tzinfo=BERLIN)
    assert when("am 2. Januar", now=late_december) == (date(2027, 1, 2), None, None)
    assert when("am 5.1.", now=late_december) == (date(2027, 1, 5), None, None)
    assert when("am 30. Dezember", now=late_december) == (date(2026, 12, 30), None, None)
    assert when("Freitag um 10", now=late_december) == (date(2027, 1, 1), time(10), None)


def test_iso_8601_in_berlin() -> None:
    assert when("2026-11-25T10:00:00+01:00") == (date(2026, 11, 25), time(10), None)
    assert when("2026-11-25T09:00:00Z") == (date(2026, 11, 25), time(10), None)
    assert when("2026-07-01T08:00:00+00:00") == (date(2026, 7, 1), time(10), None)  # summer
    assert when("2026-11-25T10:00") == (date(2026, 11, 25), time(10), None)
    assert when("2026-11-25 10:00") == (date(2026, 11, 25), time(10), None)


def test_now_naive_or_in_another_zone() -> None:
    naive = datetime(2026, 11, 24, 23, 30)
    assert when("morgen", now=naive)[0] == date(2026, 11, 25)  # type: ignore[index]
    utc = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # already the 25th in Berlin
    assert when("morgen", now=utc)[0] == date(2026, 11, 26)  # type: ignore[index]


def test_as_datetime() -> None:
    w = parse_when("morgen um 15 Uhr", now=TUESDAY)
    assert w is not None and w.as_datetime(BERLIN) == datetime(2026, 11, 25, 15, tzinfo=BERLIN)
    assert parse_when("morgen vormittags", now=TUESDAY).as_datetime(BERLIN) is None  # type: ignore


@pytest.mark.parametrize("text", ["", "ja", "Ich möchte einen Damenschnitt", "egal",
                                  "wann passt es Ihnen denn?", "drei Leute"])
def test_nothing_date_like(text: str) -> None:
    assert parse_when(text, now=TUESDAY) is None


def test_counting_from_a_said_day_and_dotted_times() -> None:
    assert when("morgen in einer Woche") == (date(2026, 12, 2), None, None)
    assert when("2.12. 15.30") == (date(2026, 12, 2), time(15, 30), None)
    assert when("am 10.12") == (date(2026, 12, 10), None, None)


def test_correction_keeps_the_day_and_takes_the_new_time() -> None:
    assert when("Freitag um drei, nein, lieber um vier") == (date(2026, 11, 27), time(16), None)


@pytest.mark.parametrize("phrase", ["morgens kurz vor null uhr", "Montag früh kurz vor 0", "kurz nach null"])
def test_clock_arithmetic_around_midnight_never_raises(phrase: str) -> None:
    now = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    result = parse_when(phrase, now=now)
    assert result is None or result.window is not None or result.time is not None


@pytest.mark.parametrize("text", ["2026-02-30T10:00:00+01:00", "2026-13-01", "2026-11-31 10:00", "in 3000000 Tagen"])
def test_impossible_dates_are_not_read_as_something_else(text: str) -> None:
    found = parse_when(text, now=datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    assert found is not None and not found.date and found.unclear == "impossible_date"


@pytest.mark.parametrize(("text", "day"), [
    ("Frau Montag, morgen um 10", date(2026, 12, 4)),
    ("mein Name ist Sonntag, morgen 10 Uhr", date(2026, 12, 4)),
    ("Herr Freitag möchte übermorgen um 10", date(2026, 12, 5)),
    ("Ich heiße Mittwoch und komme am 9.12. um 10", date(2026, 12, 9)),
    ("Frau Anna Montag, Dienstag um 10", date(2026, 12, 8)),
    ("Montag ist mein Name, Dienstag um 10 bitte", date(2026, 12, 8)),
])
def test_a_surname_that_is_a_weekday_is_not_the_day(text: str, day: date) -> None:
    """A weekday word where a name stands ("Frau Montag", "ich heiße Freitag") is the caller."""
    now = datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # a Thursday
    found = parse_when(text, now)
    assert (found.date, found.time, found.unclear) == (day, time(10), None), found


@pytest.mark.parametrize("text", ["Frau Montag, um 10 bitte", "Familie Freitag, 10 Uhr"])
def test_a_weekday_surname_alone_is_read_as_no_day_at_all(text: str) -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    alone = parse_when("um 10", now)
    found = parse_when(text, now)
    assert (found.date, found.time, found.unclear) == (alone.date, alone.time, None), found


@pytest.mark.parametrize(("text", "day"), [
    ("Name Schmidt, Montag um 10", date(2026, 12, 7)),
    ("Schmidt hier, am Montag um 10", date(2026, 12, 7)),
    ("Montag morgen um 10", date(2026, 12, 7)),
])
def test_a_weekday_after_a_name_is_still_the_day(text: str, day: date) -> None:
    now = datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    found = parse_when(text, now)
    assert (found.date, found.time) == (day, time(10)), found
