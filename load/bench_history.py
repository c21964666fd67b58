"""`make bench`'s history shape: a second stack whose database holds a salon's history (load/history.py)
before the same closed-loop phases run on it, so its figures sit beside the empty database's."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import asdict, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from harness.stack import StackOptions, open_target
from load.bench_phases import BOOKABLE, BOOKINGS_FROM_DAY, throughput, workload
from load.history import HistorySize, fill

# The PostgreSQL shape; SQLite, one writer on one file, holds a tenth of it.
SQLITE_SHARE = 0.1


def history_size(database_url: str | None, scale: float) -> HistorySize:
    return HistorySize().scaled(scale * (1.0 if is_postgres(database_url) else SQLITE_SHARE))


def is_postgres(database_url: str | None) -> bool:
    return bool(database_url and database_url.startswith(("postgresql", "postgres:")))


@contextlib.asynccontextmanager
async def scratch_postgres(url: str, suffix: str = "history") -> AsyncIterator[str]:
    """A fresh database beside the given one (`<name>_<suffix>`), dropped afterwards: the history
    holds gigabytes, and the empty database's figures must not meet rows of earlier runs."""
    import asyncpg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'callsim'}_{suffix}"
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await run(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    finally:
        await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def fresh_database(stack: contextlib.AsyncExitStack, options: StackOptions, suffix: str) -> StackOptions:
    """`options` on a scratch database beside the given PostgreSQL one, dropped when `stack` closes;
    without a database URL the stack makes its own new SQLite file."""
    if options.database_url and is_postgres(options.database_url):
        return replace(options, database_url=await stack.enter_async_context(
            scratch_postgres(options.database_url, suffix)))
    return options


async def measure_history(options: StackOptions, scale: float, seconds: float,
                          callers: tuple[int, ...]) -> dict[str, Any]:
    """Start a stack on a fresh database, fill its history while the core idles, run the phases."""
    size = history_size(options.database_url, scale)
    async with contextlib.AsyncExitStack() as stack:
        if options.database_url and not is_postgres(options.database_url):
            raise ValueError("the history shape runs on PostgreSQL or on the embedded SQLite")
        target = await stack.enter_async_context(open_target(await fresh_database(stack, options, "history")))
        work = await workload(target)
        assert target.database_url
        print(f"bench: filling history {asdict(size)} …", flush=True)
        report = await fill(target.database_url, size, {name for name, _ in BOOKABLE}, BOOKINGS_FROM_DAY)
        print(f"bench: history filled in {report.seconds:.0f} s: {report.rows}", flush=True)
        await asyncio.sleep(1.0)  # the fill's last writes (ANALYZE, index builds) settle
        phases = await throughput(target, work, seconds, callers)
    return {"size": asdict(size), "fill": report.as_dict(), "phases": phases}
