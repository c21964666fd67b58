"""On SQLite (the embedded default) one worker's concurrent transactions take turns at the write lock,
first come first served, instead of polling for it in SQLite's busy handler: under 50 concurrent
bookings a writer starved past the busy timeout and its caller heard "technisches Problem"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from booking_core.adapters.database import make_engine

# What a writer may wait, for its turn as for SQLite's busy handler: bootstrap's fifth of LOCK_TTL_S.
# The 50 writers below take ~0.7 s in turn; polling in the busy handler, several starved past it.
WAIT_S = 2.0


@pytest_asyncio.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'writers.db'}", pool_size=30, pool_timeout_s=5.0,
                       wait_s=WAIT_S)
    async with made.begin() as connection:
        await connection.execute(text("CREATE TABLE seats (id INTEGER PRIMARY KEY, step INTEGER NOT NULL)"))
    yield made
    await made.dispose()


async def test_every_concurrent_writer_commits(engine: AsyncEngine) -> None:
    async def writer(i: int) -> None:
        async with engine.connect() as connection:
            await connection.execute(text("INSERT INTO seats (id, step) VALUES (:i, 1)"), {"i": i})
            await asyncio.sleep(0.01)  # a booking's transaction spans event-loop turns
            await connection.execute(text("UPDATE seats SET step = 2 WHERE id = :i"), {"i": i})
            await connection.commit()

    outcomes = await asyncio.gather(*(writer(i) for i in range(50)), return_exceptions=True)
    assert [o for o in outcomes if o is not None] == []
    async with engine.connect() as connection:
        steps = (await connection.execute(text("SELECT step, count(*) FROM seats GROUP BY step"))).all()
    assert [tuple(row) for row in steps] == [(2, 50)]


async def test_a_read_does_not_wait_for_a_writer(engine: AsyncEngine) -> None:
    async with engine.connect() as writer:
        await writer.execute(text("INSERT INTO seats (id, step) VALUES (1, 1)"))
        async with engine.connect() as reader:  # WAL: the committed state, at once
            count = await asyncio.wait_for(reader.execute(text("SELECT count(*) FROM seats")), 1.0)
            assert count.scalar_one() == 0
        await writer.commit()


async def test_a_writer_that_gives_up_frees_the_turn(engine: AsyncEngine) -> None:
    async with engine.connect() as abandoned:  # no commit: closed, rolled back
        await abandoned.execute(text("INSERT INTO seats (id, step) VALUES (1, 1)"))
    async with engine.connect() as failing:
        await failing.execute(text("INSERT INTO seats (id, step) VALUES (2, 1)"))
        await failing.rollback()
    async with engine.connect() as next_writer:
        await asyncio.wait_for(next_writer.execute(text("INSERT INTO seats (id, step) VALUES (3, 1)")), 1.0)
        await next_writer.commit()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT id FROM seats"))).scalars().all() == [3]
