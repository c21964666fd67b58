"""The reconciler never harms a booking it cannot prove abandoned (review F2, F3, F7, F9).

Each test was written against the reconciler before these fixes and failed there (see the commit
messages); they run on SQLite, PostgreSQL and MariaDB where the database matters.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from booking_core.adapters.migrations import upgrade
from booking_core.service_layer import unknown_outcome
from booking_core.service_layer.reconcile import reconcile
from tests.integration.reconcile_fakes import (
    START,
    FakeCalcom,
    add_row,
    booking,
    core_with,
    read_row,
)


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def database_url(request: pytest.FixtureRequest) -> str:
    url = request.getfixturevalue(f"{request.param}_url")
    upgrade(url)
    return url


@pytest.fixture
def sqlite_db(sqlite_url: str) -> str:
    upgrade(sqlite_url)
    return sqlite_url


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# F2 ---------------------------------------------------------------------------------------------

async def test_a_booking_without_a_row_is_reported_not_cancelled(database_url: str) -> None:
    """After a database restore these are customers who heard "gebucht"."""
    calcom = FakeCalcom([[booking("uid-restored", "00000000-0000-4000-8000-000000000001")]])
    core = core_with(database_url, calcom)
    report = await reconcile(core, grace_s=0)
    assert calcom.cancelled == []
    assert report.unknown_bookings == ["uid-restored"]
    report = await reconcile(core, grace_s=0, cancel_unknown=True)
    assert calcom.cancelled == ["uid-restored"] and report.cancelled_orphans == ["uid-restored"]
    await core.aclose()


async def test_another_deployments_bookings_are_never_touched(sqlite_db: str) -> None:
    calcom = FakeCalcom([])
    core = core_with(sqlite_db, calcom)
    failed = await add_row(core, "failed", None)
    calcom.pages = [[booking("uid-staging", failed, deployment="staging"),
                     booking("uid-legacy", failed, deployment=None)]]
    report = await reconcile(core, grace_s=0)
    assert calcom.cancelled == [] and report.checked_bookings == 0
    assert (await read_row(core, failed)).status == "failed"
    await core.aclose()


async def test_a_booking_rescheduled_in_calcom_is_adopted_not_cancelled(database_url: str) -> None:
    calcom = FakeCalcom([])
    core = core_with(database_url, calcom)
    row = await add_row(core, "confirmed", "uid-old")
    later = START + timedelta(hours=2)
    calcom.pages = [[booking("uid-new", row, start=later, rescheduledFromUid="uid-old")]]
    report = await reconcile(core, grace_s=0)
    assert calcom.cancelled == [] and report.adopted == [row]
    moved = await read_row(core, row)
    assert (moved.status, moved.calcom_uid, moved.start_at, moved.confirmed_start) == (
        "confirmed", "uid-new", later, later)
    await core.aclose()


# F3 ---------------------------------------------------------------------------------------------

async def test_an_unknown_outcome_younger_than_the_grace_keeps_its_slot(sqlite_db: str) -> None:
    calcom = FakeCalcom([[]])
    core = core_with(sqlite_db, calcom)
    pending = await add_row(core, "pending", None, sync_status="unknown", updated_at=_now(),
                            created_at=_now() - timedelta(seconds=5))
    report = await reconcile(core, grace_s=30)
    assert report.settled_failed == []
    row = await read_row(core, pending)
    assert (row.status, row.sync_status) == ("pending", "unknown")
    await core.aclose()


async def test_the_reconciler_never_overwrites_a_row_confirmed_meanwhile(database_url: str) -> None:
    calcom = FakeCalcom([])
    core = core_with(database_url, calcom)
    pending = await add_row(core, "pending", None)  # stale: a crashed SAGA, as far as the pass can tell
    failed = await add_row(core, "failed", None)
    calcom.pages = [[booking("uid-orphan", failed)]]

    async def a_retry_confirms(_uid: str) -> None:  # a Retell retry's resume lands mid-pass
        async with core.uow() as uow:
            await uow.appointments.confirm(pending, "uid-late")
            await uow.commit()

    calcom.on_cancel = a_retry_confirms
    report = await reconcile(core, grace_s=0)
    assert report.settled_failed == []
    row = await read_row(core, pending)
    assert (row.status, row.calcom_uid, row.confirmed_start) == ("confirmed", "uid-late", START)
    await core.aclose()


async def test_the_row_is_re_read_before_its_booking_is_cancelled(database_url: str) -> None:
    calcom = FakeCalcom([])
    core = core_with(database_url, calcom)
    first = await add_row(core, "failed", None)
    # pending (a failed row can no longer become confirmed): stale past the grace when listed
    second = await add_row(core, "pending", None, start=START + timedelta(hours=3))
    calcom.pages = [[booking("uid-a", first), booking("uid-b", second, start=START + timedelta(hours=3))]]

    async def second_confirms(uid: str) -> None:  # read as stale pending, confirmed before its turn
        if uid == "uid-a":
            async with core.uow() as uow:
                await uow.appointments.confirm(second, "uid-b")
                await uow.commit()

    calcom.on_cancel = second_confirms
    await reconcile(core, grace_s=0)
    assert calcom.cancelled == ["uid-a"]  # before: uid-b too, leaving a confirmed row on a cancelled booking
    assert (await read_row(core, second)).status == "confirmed"
    await core.aclose()


async def test_one_reconciler_at_a_time_across_workers(database_url: str) -> None:
    calcom = FakeCalcom([[]], delay_s=0.3)
    workers = [core_with(database_url, calcom) for _ in range(3)]
    reports = await asyncio.gather(*(reconcile(core, grace_s=0) for core in workers))
    assert calcom.listing_most == 1 and all(r.skipped is None for r in reports)
    busy = FakeCalcom([[]], delay_s=0.5)
    for core in workers:
        core.calcom = core_with(database_url, busy).calcom
    first = asyncio.create_task(reconcile(workers[0], grace_s=0))
    await asyncio.sleep(0.2)
    assert (await reconcile(workers[1], wait_s=0)).skipped  # the background loop skips its turn
    await first
    for core in workers:
        await core.aclose()


# F9 ---------------------------------------------------------------------------------------------

async def test_the_listing_pages_through_everything_with_a_status_filter(sqlite_db: str) -> None:
    calcom = FakeCalcom([])
    core = core_with(sqlite_db, calcom)
    failed = await add_row(core, "failed", None)
    filler = [[booking(f"uid-{p}-{i}", failed, deployment="other") for i in range(100)] for p in range(55)]
    calcom.pages = [*filler, [booking("uid-late-page", failed)]]
    report = await reconcile(core, grace_s=0)
    assert calcom.cancelled == ["uid-late-page"] and report.errors == []
    assert {p.get("status") for p in calcom.listing_params} == {"upcoming,unconfirmed"}
    await core.aclose()


async def test_one_failing_page_does_not_abort_the_pass(sqlite_db: str) -> None:
    calcom = FakeCalcom([], failing_pages={1})
    core = core_with(sqlite_db, calcom)
    failed = await add_row(core, "failed", None)
    later = await add_row(core, "failed", None, start=START + timedelta(hours=2))
    stale = await add_row(core, "pending", None)  # its booking may sit on the page that failed
    calcom.pages = [[booking("uid-p0", failed)], [], [booking("uid-p2", later, start=START + timedelta(hours=2))]]
    report = await reconcile(core, grace_s=0)
    assert sorted(calcom.cancelled) == ["uid-p0", "uid-p2"]
    assert report.errors and report.settled_failed == []
    assert (await read_row(core, stale)).status == "pending"
    await core.aclose()


# F7 ---------------------------------------------------------------------------------------------

async def test_background_lookups_get_the_timeout_they_ask_for(sqlite_db: str) -> None:
    calcom = FakeCalcom([], delay_s=0.2)
    core = core_with(sqlite_db, calcom, calcom_timeout_s=0.05)  # the voice path's ceiling
    failed = await add_row(core, "failed", None)
    calcom.pages = [[booking("uid-orphan", failed)]]
    report = await reconcile(core, grace_s=0)
    assert report.errors == [] and calcom.cancelled == ["uid-orphan"]
    await core.aclose()


async def test_a_failed_lookup_never_erases_the_unknown_marker(sqlite_db: str) -> None:
    calcom = FakeCalcom([], failing_pages={0})
    core = core_with(sqlite_db, calcom, unknown_settle_after_s=0)
    pending = await add_row(core, "pending", None, sync_status="unknown")
    for _ in range(3):
        assert await unknown_outcome.recheck(core, pending) == "unknown"
    row = await read_row(core, pending)
    assert (row.status, row.sync_status, row.absent_checks) == ("pending", "unknown", 0)
    assert row.recheck_at is not None and row.recheck_at > _now()
    await core.aclose()


async def test_an_unknown_outcome_is_finished_by_the_reconciler_after_a_restart(database_url: str) -> None:
    """The worker that marked it died: the row alone drives the follow-up."""
    calcom = FakeCalcom([[]])
    core = core_with(database_url, calcom, unknown_settle_after_s=60)
    gone = await add_row(core, "pending", None, sync_status="unknown", created_at=_now() - timedelta(minutes=5),
                         recheck_at=_now() - timedelta(seconds=1))
    landed = await add_row(core, "pending", None, sync_status="unknown", start=START + timedelta(hours=2),
                           recheck_at=_now() - timedelta(seconds=1))
    calcom.pages = [[booking("uid-landed-late", landed, start=START + timedelta(hours=2))]]
    first = await reconcile(core)
    assert calcom.cancelled == ["uid-landed-late"] and first.settled_failed == []  # one absent look is not proof
    assert (await read_row(core, landed)).status == "compensated"
    async with core.uow() as uow:  # the next look is due
        await uow.appointments.compare_and_set(gone, {}, recheck_at=_now() - timedelta(seconds=1))
        await uow.commit()
    second = await reconcile(core)
    assert second.settled_failed == [gone]
    assert (await read_row(core, gone)).status == "failed"
    await core.aclose()
