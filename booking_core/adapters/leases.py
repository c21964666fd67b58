"""Named leases in the database: one holder at a time across workers and hosts.

Works the same on SQLite, PostgreSQL and MariaDB (insert, or take over an expired lease with a
conditional update), so the embedded default and a scaled-out deployment share one mechanism.
Expiry times are the app's UTC clock; a lease lasts far longer than any clock skew between hosts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from booking_core.adapters.orm import LeaseRow


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def take(session: AsyncSession, name: str, holder: str, ttl_s: float) -> bool:
    """Take or renew the lease; False while another holder's lease is alive. Commits."""
    now = utcnow()
    until = now + timedelta(seconds=ttl_s)
    try:
        result = await session.execute(update(LeaseRow).where(
            LeaseRow.name == name, or_(LeaseRow.holder == holder, LeaseRow.expires_at < now),
        ).values(holder=holder, expires_at=until))
        if not result.rowcount:  # type: ignore[attr-defined]
            await session.execute(insert(LeaseRow).values(name=name, holder=holder, expires_at=until))
        await session.commit()
        return True
    except IntegrityError:  # someone else holds it (or took it a moment ago)
        await session.rollback()
        return False
    except DBAPIError as exc:
        # Two takers at once on InnoDB: its gap locks make one a deadlock victim. That one lost.
        text = str(exc.orig).lower()
        if "deadlock" not in text and "lock wait" not in text and "could not serialize" not in text:
            raise
        await session.rollback()
        return False


async def release(session: AsyncSession, name: str, holder: str) -> None:
    await session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.holder == holder))
    await session.commit()


async def alive(session: AsyncSession, prefix: str) -> list[str]:
    """Holders of the live leases whose name starts with `prefix`."""
    rows = await session.execute(select(LeaseRow.holder).where(
        LeaseRow.name.startswith(prefix, autoescape=True), LeaseRow.expires_at >= utcnow()))
    return [holder for (holder,) in rows]
