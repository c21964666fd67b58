"""The database server drops the confirm's connection (PostgreSQL `pg_terminate_backend`, MariaDB
`KILL`) between its UPDATE and COMMIT (review F4/F12): the caller hears "nicht eingetragen", the
Cal.com booking is compensated, and `callsim reconcile` + `callsim check` find 0 orphans."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from harness.stack import StackOptions
from tests.support.commands import check, reconcile
from tests.support.stack import RetellClient, at, future_workday, running_stack


@pytest.fixture(params=["postgres", "mariadb"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


async def test_a_connection_killed_at_confirm_is_compensated(database_url: str) -> None:
    with running_stack(StackOptions(database_url=database_url, extra_env={"RECONCILE_INTERVAL_S": "0"})) as target:
        retell = RetellClient(target)
        try:
            day, call_id = future_workday(12, weekday=3), f"call_{uuid.uuid4().hex}"
            killed = await retell.call("book_appointment", {
                "service": "Herrenschnitt", "date_time": at(day, 10), "customer_name": "Kim Abbruch"},
                call_id=call_id, fault="kill_db_connection_at_confirm")
            assert killed["success"] is False and "nicht eingetragen" in killed["message"], killed
            # The pool recovers: the next caller books as usual.
            after = await retell.call("book_appointment", {
                "service": "Herrenschnitt", "date_time": at(day, 11), "customer_name": "Kim Danach"})
            assert after["success"], after
            await asyncio.sleep(1.0)  # background compensation
            ours = [b for b in await retell.ledger() if b["metadata"].get("call_id") == call_id]
            assert ours and all(b["status"] == "cancelled" for b in ours), ours
            await asyncio.to_thread(reconcile, target)
            code, report = await asyncio.to_thread(check, target)
            assert code == 0, report
            ours = [b for b in await retell.ledger() if b["metadata"].get("call_id") == call_id]
            assert all(b["status"] == "cancelled" for b in ours), ours
        finally:
            await retell.aclose()
