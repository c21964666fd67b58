"""The core's appointments table, read with plain SQL (the checker never imports the core's ORM)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

_DRIVERS = (
    ("postgresql://", "postgresql+asyncpg://"),
    ("postgres://", "postgresql+asyncpg://"),
    ("mysql://", "mysql+aiomysql://"),
    ("mariadb://", "mysql+aiomysql://"),
    ("sqlite://", "sqlite+aiosqlite://"),
)


@dataclass(frozen=True)
class Appointment:
    id: str
    resource: str
    start: datetime  # aware UTC
    end: datetime
    status: str
    calcom_uid: str | None
    call_id: str | None

    @property
    def confirmed(self) -> bool:
        return self.status == "confirmed"


def async_url(url: str) -> str:
    """Operators paste plain URLs; the checker needs the async driver of each scheme."""
    for plain, driver in _DRIVERS:
        if url.startswith(plain):
            return driver + url[len(plain):]
    return url


def _utc(value: object) -> datetime:
    # Naive UTC by contract; SQLite hands back text, the others datetimes.
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def fetch_appointments(database_url: str) -> list[Appointment]:
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text(
                "SELECT id, resource, start_at, end_at, status, calcom_uid, call_id FROM appointments"))
            return [
                Appointment(id=str(r.id), resource=str(r.resource), start=_utc(r.start_at), end=_utc(r.end_at),
                            status=str(r.status), calcom_uid=r.calcom_uid, call_id=r.call_id)
                for r in rows
            ]
    finally:
        await engine.dispose()
