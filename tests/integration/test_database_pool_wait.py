"""Under a burst a request waits its turn for a pooled connection (DB_POOL_TIMEOUT_S, 5 s) instead of
answering db_unavailable after 2 s: at 200 callers on 2 workers a few callers heard "technisches
Problem" only because the pool was busy."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from booking_core.bootstrap import bootstrap
from booking_core.config import Settings


@pytest.mark.parametrize("kind", ["postgres"])
def test_a_request_waits_longer_than_two_seconds_for_a_busy_pool(kind: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue(f"{kind}_url")

    async def scenario() -> None:
        core = bootstrap(Settings(database_url=url, db_pool_size=1, reconcile_interval_s=0, retention_interval_s=0))
        try:
            async def hold() -> None:
                async with core.engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
                    await asyncio.sleep(2.3)

            async def wait_then_query() -> int:
                await asyncio.sleep(0.1)  # the holder has the only connection
                async with core.engine.connect() as connection:
                    return int((await connection.execute(text("SELECT 2"))).scalar_one())

            _, answer = await asyncio.gather(hold(), wait_then_query())
            assert answer == 2
        finally:
            await core.aclose()

    asyncio.run(scenario())


def test_the_pool_wait_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_TIMEOUT_S", "3.5")
    assert Settings().db_pool_timeout_s == 3.5
    monkeypatch.setenv("DB_POOL_TIMEOUT_S", "0")
    with pytest.raises(ValueError):
        Settings()
