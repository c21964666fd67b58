"""The mock's salon keeps the core's public holidays closed, as a Cal.com date override would."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mock_calcom.availability import Availability, HolidayOverrides
from mock_calcom.catalog import load_catalog
from mock_calcom.ledger import BookingLedger
from mock_calcom.settings import MockSettings

CHRISTMAS, DAY_AFTER = date(2026, 12, 25), date(2026, 12, 28)  # a Friday holiday, a Monday


def availability(state: str | None) -> Availability:
    catalog = load_catalog()
    return Availability(catalog, BookingLedger(catalog.zone, 1), HolidayOverrides(state))


def test_a_state_holiday_has_no_slots_and_takes_no_booking() -> None:
    berlin = availability("BE")
    assert berlin.candidate_starts(CHRISTMAS, 30) == []
    assert berlin.candidate_starts(DAY_AFTER, 30)  # an ordinary Monday stays open
    nine = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    assert not berlin.within_opening_hours(nine, nine.replace(hour=10))
    assert availability(None).candidate_starts(CHRISTMAS, 30)  # no state: no holidays


def test_womens_day_is_berlins_own() -> None:
    assert availability("BE").candidate_starts(date(2027, 3, 8), 30) == []
    assert availability("BY").candidate_starts(date(2027, 3, 8), 30)


@pytest.mark.parametrize("variable", ["SALON_HOLIDAYS_SUBDIV", "MOCK_CALCOM_HOLIDAYS_SUBDIV"])
def test_the_core_setting_closes_the_mock_too(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "BE")
    assert MockSettings().holidays_subdiv == "BE"
