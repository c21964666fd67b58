"""The webhook asks back when it cannot place a date, and keeps the salon shut on public holidays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import holidays
import pytest

from harness.stack import StackOptions, Target
from tests.support.stack import BERLIN, RetellClient, at, running_stack

STATE = "BE"


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    env = {"SALON_HOLIDAYS_SUBDIV": STATE}  # the mock reads it too
    with running_stack(StackOptions(extra_env=env)) as running:
        yield running


def next_workday_holiday() -> tuple[date, str]:
    """The next Berlin public holiday on a Monday to Saturday, at least two days ahead."""
    today = datetime.now(BERLIN).date()
    calendar = holidays.country_holidays("DE", subdiv=STATE, language="de",
                                         years=[today.year, today.year + 1])
    return next((d, n) for d, n in sorted(calendar.items())
                if d >= today + timedelta(2) and d.weekday() < 6)


@pytest.mark.parametrize(("said", "named"), [
    ("am 30. Februar um 10", "Den 30. Februar gibt es nicht"),
    ("31.4. um 11 Uhr", "Den 31. April gibt es nicht"),
    ("morgen um 25 Uhr", "25 Uhr gibt es nicht"),
])
async def test_an_impossible_date_is_asked_back_naming_it(retell: RetellClient, said: str,
                                                          named: str) -> None:
    answer = await retell.call("book_appointment", {"service": "Damenschnitt", "date_time": said,
                                                    "customer_name": "Jana Schulz"})
    assert answer["success"] is False and answer["error"] == "unparseable_time", answer
    assert answer["message"].startswith(named) and answer["message"].endswith("?")
    assert "gebucht" not in answer["message"] and answer["data"]["unclear"]


async def test_a_public_holiday_is_closed_with_the_reason_and_alternatives(retell: RetellClient) -> None:
    day, name = next_workday_holiday()
    before = len(await retell.ledger())
    booked = await retell.call("book_appointment", {"service": "Herrenschnitt", "date_time": at(day, 11),
                                                    "customer_name": "Max Muster"})
    assert booked["success"] is False and booked["error"] == "outside_hours", booked
    assert booked["data"]["closed"] == name and name in booked["message"]
    assert booked["data"]["alternatives"]
    assert all(datetime.fromisoformat(a).date() != day for a in booked["data"]["alternatives"])
    assert len(await retell.ledger()) == before
    asked = await retell.call("check_availability", {"service": "Herrenschnitt",
                                                     "date_time": day.isoformat()})
    assert asked["success"] is False and asked["data"]["closed"] == name, asked
