"""Tables. Datetimes are naive UTC on every engine (see domain.model.to_utc_naive)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ServiceRow(Base):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    duration_min: Mapped[int] = mapped_column(Integer)
    price_eur: Mapped[Decimal | None] = mapped_column(Numeric(8, 2), nullable=True)
    calcom_event_type_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resource: Mapped[str] = mapped_column(String(64), default="salon")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), onupdate=func.now())


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    phone: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class AppointmentRow(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        # Portable last line of defence: two confirmed appointments of one resource can never
        # start at the same moment. confirmed_start is NULL unless confirmed (NULLs never collide).
        UniqueConstraint("resource", "confirmed_start", name="uq_appointments_confirmed_start"),
        Index("ix_appointments_resource_start", "resource", "start_at"),
        Index("ix_appointments_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    resource: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))
    confirmed_start: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    calcom_uid: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    # in_sync / unknown (Cal.com outcome unknown) / cancel_failed / compensation_failed
    sync_status: Mapped[str] = mapped_column(String(32), default="in_sync")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    customer_phone: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    rescheduled_from_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # When an unknown Cal.com outcome is looked up next, and how many lookups found nothing.
    recheck_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    absent_checks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed_by_key: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), onupdate=func.now())


class CallRow(Base):
    __tablename__ = "calls"

    call_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    agent_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    from_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    status: Mapped[str] = mapped_column(String(32), default="ongoing")
    call: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Indexed for retention (migration 0002), like call_events.received_at and function_calls.created_at.
    updated_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), onupdate=func.now(),
                                                 index=True)


class CallEventRow(Base):
    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("call_id", "event", name="uq_call_events_call_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(String(128), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), index=True)


class FunctionCallRow(Base):
    """One row per invocation of a mutating function: the answer a Retell retry gets again."""

    __tablename__ = "function_calls"

    __table_args__ = (Index("ix_function_calls_call_seq", "call_id", "seq"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # one invocation (see idempotency.py)
    call_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # in_progress / done / retryable
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    lease_until: Mapped[datetime] = mapped_column(DateTime)
    request_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now(), index=True)


class LeaseRow(Base):
    """A named lease across workers and hosts (one reconciler at a time; a serving core's heartbeat)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


__all__ = [
    "AppointmentRow",
    "Base",
    "CallEventRow",
    "CallRow",
    "CustomerRow",
    "FunctionCallRow",
    "LeaseRow",
    "ServiceRow",
]
