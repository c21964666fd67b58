"""Retell retries a function call up to twice: a retry gets the first attempt's answer.

Keyed by (call_id, function, args). A retry that arrives while the first attempt still runs waits
briefly for it; a first attempt whose worker died (lease expired) is taken over, and the booking
handler resumes its SAGA from the intent row instead of booking again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from booking_core.adapters.orm import FunctionCallRow
from booking_core.bootstrap import Core
from booking_core.observability import log
from booking_core.schemas import FunctionAnswer

MUTATING = frozenset({"book_appointment", "cancel_appointment", "reschedule_appointment"})

# Core statements, built once: every mutating call runs both, and the ORM's unit of work cost more
# CPU than the database took to run them.
_CALLS = cast(Table, FunctionCallRow.__table__)
_CLAIM = insert(_CALLS)
_STORE = update(_CALLS).where(_CALLS.c.key == bindparam("stored_key")).values(status="done",
                                                                            response=bindparam("answer"))
# Answers finishing within this window are stored in one transaction; a retry arriving meanwhile
# finds its claim open and waits for it (it polls every 50 ms for up to 1.2 s).
STORE_BATCH_S = 0.005


def idempotency_key(call_id: str | None, name: str, args: dict[str, Any]) -> str:
    canonical = json.dumps([call_id, name, args], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def run_once(core: Core, key: str, call_id: str | None, name: str,
                   run: Callable[[bool], Awaitable[FunctionAnswer]], *, wait_s: float = 1.2) -> FunctionAnswer:
    """Run `run(first_attempt)` once per key; `first_attempt` says this request made the claim."""
    if call_id is None or name not in MUTATING:
        return await run(False)
    lease = timedelta(seconds=core.settings.lock_ttl_s)
    try:
        claimed = await _claim(core, key, call_id, name, lease)
    except SQLAlchemyError as exc:
        log.warning("idempotency store unavailable", call_id=call_id, error=type(exc).__name__)
        return await run(False)
    if not claimed:
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            stored = await _stored(core, key)
            if stored is None:
                break  # the claim vanished: run it ourselves
            if stored.status == "done" and stored.response is not None:
                return FunctionAnswer.model_validate(stored.response)
            if stored.lease_until < _utcnow() and await _take_over(core, key, stored.lease_until, lease):
                break  # the first attempt died: finish its work
            if asyncio.get_running_loop().time() >= deadline:
                return FunctionAnswer(success=False, error="in_progress",
                                      message="Einen Moment bitte, ich bearbeite Ihre Anfrage noch.")
            await asyncio.sleep(0.05)
    answer = await run(claimed)
    # Stored after answering: Retell only retries once its own timeout has passed, and a retry
    # that still finds the claim open waits for it (or resumes the SAGA from the intent row).
    if not core.answers_to_store:
        core.spawn(_store_batch(core))
    core.answers_to_store.append((key, call_id, answer))
    return answer


async def _store_batch(core: Core) -> None:
    """One transaction for the answers of every call that finished in the last few milliseconds:
    under load, storing each in its own transaction cost as much as a step of the booking."""
    await asyncio.sleep(STORE_BATCH_S)
    batch = list(core.answers_to_store)
    core.answers_to_store.clear()
    try:
        async with core.uow() as uow:
            await uow.session.execute(_STORE, [{"stored_key": key, "answer": answer.model_dump(mode="json")}
                                               for key, _, answer in batch])
            await uow.commit()
    except SQLAlchemyError as exc:
        log.warning("idempotency answers not stored", call_ids=[call_id for _, call_id, _ in batch],
                    error=type(exc).__name__)


async def _claim(core: Core, key: str, call_id: str, name: str, lease: timedelta) -> bool:
    try:
        async with core.uow() as uow:
            await uow.session.execute(_CLAIM, {"key": key, "call_id": call_id, "name": name, "status": "in_progress",
                                               "lease_until": _utcnow() + lease})
            await uow.commit()
        return True
    except IntegrityError:
        return False


async def _stored(core: Core, key: str) -> FunctionCallRow | None:
    async with core.uow() as uow:
        return await uow.session.get(FunctionCallRow, key)


async def _take_over(core: Core, key: str, seen_lease: datetime, lease: timedelta) -> bool:
    async with core.uow() as uow:
        result = await uow.session.execute(update(FunctionCallRow).where(
            FunctionCallRow.key == key, FunctionCallRow.lease_until == seen_lease,
            FunctionCallRow.status == "in_progress").values(lease_until=_utcnow() + lease))
        await uow.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]
