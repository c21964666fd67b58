"""The steps of a recorded move on every engine, and how an unknown move is settled (review F5, F7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from booking_core.adapters.migrations import upgrade
from booking_core.domain.model import Slot
from booking_core.service_layer import unknown_outcome
from booking_core.service_layer.moves import confirm_move
from booking_core.service_layer.reconcile import reconcile
from tests.integration.reconcile_fakes import (
    START,
    FakeCalcom,
    add_row,
    booking,
    core_with,
    read_row,
)

HALF_HOUR_LATER = START + timedelta(minutes=30)


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def database_url(request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue(f"{request.param}_url")
    upgrade(url)
    return url


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def test_a_move_into_its_own_overlap_confirms_on_every_engine(database_url: str) -> None:
    """Before, PostgreSQL's exclusion constraint refused what SQLite and MariaDB accepted."""
    core = core_with(database_url, FakeCalcom([]))
    old = await add_row(core, "confirmed", "uid-old")
    new = await add_row(core, "pending", None, start=HALF_HOUR_LATER, rescheduled_from_id=old)
    slot = Slot("host:101", HALF_HOUR_LATER.replace(tzinfo=UTC), (HALF_HOUR_LATER + timedelta(hours=1)).replace(tzinfo=UTC))
    await confirm_move(core, new, old, "uid-old", slot, "uid-new", "key-of-the-call")
    moved_away, moved_to = await read_row(core, old), await read_row(core, new)
    assert (moved_away.status, moved_away.confirmed_start, moved_away.closed_by_key) == (
        "rescheduled", None, "key-of-the-call")
    assert (moved_to.status, moved_to.calcom_uid, moved_to.confirmed_start) == ("confirmed", "uid-new", HALF_HOUR_LATER)
    await core.aclose()


async def test_a_move_that_landed_after_the_caller_heard_no_is_moved_back(database_url: str) -> None:
    calcom = FakeCalcom([])
    core = core_with(database_url, calcom, unknown_settle_after_s=0)
    old = await add_row(core, "confirmed", "uid-old")
    new = await add_row(core, "pending", None, start=HALF_HOUR_LATER, rescheduled_from_id=old,
                        sync_status="unknown", recheck_at=_now() - timedelta(seconds=1))
    # Cal.com copies the old booking's metadata onto the moved one.
    calcom.pages = [[booking("uid-moved", old, start=HALF_HOUR_LATER, rescheduledFromUid="uid-old")]]
    assert await unknown_outcome.recheck(core, new) == "compensated"
    assert calcom.rescheduled == [("uid-moved", "2031-03-04T10:00:00+01:00")]
    assert (await read_row(core, new)).status == "compensated"
    back = await read_row(core, old)
    assert (back.status, back.calcom_uid, back.start_at) == ("confirmed", "uid-moved-moved-back", START)
    await core.aclose()


async def test_a_recorded_move_is_finished_by_the_reconciler(database_url: str) -> None:
    """The caller heard "verschoben" (or the worker died first): the plan is finished, not undone,
    and the moved booking is neither cancelled nor adopted into the old row."""
    calcom = FakeCalcom([])
    core = core_with(database_url, calcom)
    old = await add_row(core, "confirmed", "uid-old")
    new = await add_row(core, "pending", None, start=HALF_HOUR_LATER, rescheduled_from_id=old)
    calcom.pages = [[booking("uid-moved", old, start=HALF_HOUR_LATER, rescheduledFromUid="uid-old")]]
    report = await reconcile(core)
    assert calcom.cancelled == [] and calcom.rescheduled == [] and report.adopted == [new]
    assert (await read_row(core, old)).status == "rescheduled"
    finished = await read_row(core, new)
    assert (finished.status, finished.calcom_uid) == ("confirmed", "uid-moved")
    await core.aclose()
