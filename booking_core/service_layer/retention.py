"""Retention: Retell's function-call answers and the call events are kept for a while, not forever.

A stored answer is what a Retell retry gets again; retries come within seconds, so after days the
row only slows the table every booking writes to. Call events (and the call rows they update) are
the operators' record of recent calls. Both are deleted once older than `RETENTION_DAYS`, in short
transactions of `RETENTION_BATCH_SIZE` rows with a pause between them, so a booking never waits
behind a prune. Appointments and customers are never pruned here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from booking_core.adapters.repository import PRUNABLE, RetentionRepository
from booking_core.observability import log
from booking_core.service_layer.core import Core


@dataclass
class PruneReport:
    cutoff: datetime
    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PRUNABLE, 0))
    # False when a table still held old rows after max_batches: the next pass goes on.
    complete: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff.isoformat(), "deleted": self.deleted, "complete": self.complete}


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def prune(core: Core, *, older_than: timedelta | None = None, batch_size: int | None = None,
                pause_s: float | None = None, max_batches: int | None = None) -> PruneReport:
    """Delete function-call records, call events and call rows older than `older_than` (default
    RETENTION_DAYS). `max_batches` bounds the batches per table (None: until nothing old is left)."""
    settings = core.settings
    age = older_than if older_than is not None else timedelta(days=settings.retention_days)
    if age <= timedelta(0):
        raise ValueError("the retention age must be positive")
    batch = batch_size or settings.retention_batch_size
    pause = settings.retention_pause_s if pause_s is None else pause_s
    now = _utcnow()
    report = PruneReport(cutoff=now - age)
    for table in PRUNABLE:
        batches = 0
        while max_batches is None or batches < max_batches:
            async with core.uow() as uow:
                deleted = await RetentionRepository(uow.session).delete_older(table, report.cutoff, now, batch)
                await uow.commit()
            batches += 1
            report.deleted[table] += deleted
            if deleted < batch:
                break  # nothing old left (each batch deletes what it read, so this loop ends)
            if pause:
                await asyncio.sleep(pause)
        else:
            report.complete = False
    return report


async def prune_forever(core: Core) -> None:
    """The periodic task: a pass every RETENTION_INTERVAL_S, the first one a minute after start (a
    worker restarted more often than the interval still prunes)."""
    interval = core.settings.retention_interval_s
    await asyncio.sleep(min(60.0, interval))
    while True:
        try:
            report = await prune(core, max_batches=core.settings.retention_max_batches)
            if any(report.deleted.values()):
                log.info("retention pass", **report.as_dict())
        except Exception:  # the next pass tries again; serving calls goes on regardless
            log.exception("retention pass failed")
        await asyncio.sleep(interval)
