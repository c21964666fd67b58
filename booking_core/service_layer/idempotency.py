"""Retell retries a function call up to twice: a retry gets the first attempt's answer.

A request is keyed by (call_id, function, args), but the same words are not always a retry: a
caller may book, cancel and book again with identical arguments. Retell retries at once, before
the agent moves on, so a request is a *retry* only if its key is the call's latest mutating
request and arrives within RETRY_WINDOW_S; otherwise it is a new invocation with a key of its own
(the request key plus its sequence number in the call), and the booking's intent row uses that key.

A retry that arrives while the first attempt still runs waits briefly for it. The running attempt
renews its lease, so only a dead attempt (worker killed, event loop stalled past the lease) is
taken over; the booking handler then resumes its SAGA from the intent row instead of booking
again. Only answers that changed something are kept: a refusal changed nothing, so the next try
runs again and answers what is true by then (a "kein Termin" replayed after the caller booked that
time in another call would be false).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from booking_core.adapters.orm import FunctionCallRow
from booking_core.observability import log
from booking_core.schemas import FunctionAnswer
from booking_core.service_layer.core import Core

MUTATING = frozenset({"book_appointment", "cancel_appointment", "reschedule_appointment"})
# Retell retries within its tool timeout (seconds, twice); a repeat later than this is the
# caller's own, even with nothing in between (the appointment may have changed in another call).
RETRY_WINDOW_S = 120.0

# Answers finishing within this window are stored in one transaction; a retry arriving meanwhile
# finds its claim open and waits for it (it polls every 50 ms for up to 1.2 s).
STORE_BATCH_S = 0.005

Run = Callable[[str, bool], Awaitable[FunctionAnswer]]
StillTrue = Callable[[FunctionAnswer], Awaitable[bool]]


def idempotency_key(call_id: str | None, name: str, args: dict[str, Any]) -> str:
    canonical = json.dumps([call_id, name, args], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def invocation_key(request_key: str, seq: int) -> str:
    """The key of the call's `seq`-th mutating request; the first keeps the request key itself."""
    return request_key if seq == 0 else hashlib.sha256(f"{request_key}#{seq}".encode()).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


async def run_once(core: Core, request_key: str, call_id: str | None, name: str, run: Run, *,
                   still_true: StillTrue | None = None, wait_s: float = 1.2) -> FunctionAnswer:
    """Run `run(key, first_attempt)` once per invocation. `key` names the invocation (the booking's
    intent uses it); `first_attempt` says no earlier attempt of it ran, so nothing is to resume.
    A kept answer is replayed only while `still_true(answer)`; otherwise the request is the
    caller's next invocation (other calls changed what the answer described)."""
    if call_id is None or name not in MUTATING:
        return await run(request_key, False)
    lease = timedelta(seconds=core.settings.lock_ttl_s)
    owner = uuid.uuid4().hex
    try:
        key, claimed = await _claim(core, request_key, call_id, name, lease, owner)
    except SQLAlchemyError as exc:
        log.warning("idempotency store unavailable", call_id=call_id, error=type(exc).__name__)
        return await run(request_key, False)
    if not claimed:
        deadline = asyncio.get_running_loop().time() + wait_s
        while True:
            stored = await _stored(core, key)
            if stored is None:
                break  # the claim vanished: run it ourselves
            if stored.status == "done" and stored.response is not None:
                kept = FunctionAnswer.model_validate(stored.response)
                if still_true is None or await _holds(still_true, kept):
                    return kept
                try:  # outdated by other calls: a new invocation of its own
                    key, claimed = await _claim(core, request_key, call_id, name, lease, owner, fresh=True)
                except SQLAlchemyError:
                    return await run(request_key, False)
                break
            if stored.status != "in_progress" or stored.lease_until < _utcnow():
                # The last attempt asked the caller to try again, or it died: this one runs it.
                if await _take_over(core, key, stored, lease, owner):
                    break
                continue
            if asyncio.get_running_loop().time() >= deadline:
                return FunctionAnswer(success=False, error="in_progress",
                                      message="Einen Moment bitte, ich bearbeite Ihre Anfrage noch.")
            await asyncio.sleep(0.05)
    renewing = asyncio.get_running_loop().create_task(_renew(core, key, owner, lease))
    try:
        answer = await run(key, claimed)
    except BaseException:
        await _give_back(core, key, owner)
        raise
    finally:
        renewing.cancel()
    # Stored after answering: Retell only retries once its own timeout has passed, and a retry
    # that still finds the claim open waits for it (or resumes the SAGA from the intent row).
    if not core.answers_to_store:
        core.spawn(_store_batch(core))
    core.answers_to_store.append((key, owner, call_id, answer))
    return answer


async def _renew(core: Core, key: str, owner: str, lease: timedelta) -> None:
    """Keep the lease of a running attempt: a retry may take over only an attempt that died."""
    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        try:
            async with core.uow() as uow:
                renewed = await uow.function_calls.renew(key, owner, _utcnow() + lease)
                await uow.commit()
            if not renewed:
                return  # taken over: the other attempt owns it now
        except SQLAlchemyError as exc:
            log.warning("idempotency lease not renewed", error=type(exc).__name__)


async def _give_back(core: Core, key: str, owner: str) -> None:
    """The attempt raised: nothing was answered, so the next try must run, not wait for a lease."""
    with contextlib.suppress(SQLAlchemyError):
        async with core.uow() as uow:
            await uow.function_calls.store([{"stored_key": key, "stored_owner": owner,
                                             "new_status": "retryable", "answer": None}])
            await uow.commit()


async def _store_batch(core: Core) -> None:
    """One transaction for the answers of every call that finished in the last few milliseconds:
    under load, storing each in its own transaction cost as much as a step of the booking."""
    await asyncio.sleep(STORE_BATCH_S)
    batch = list(core.answers_to_store)
    core.answers_to_store.clear()
    try:
        async with core.uow() as uow:
            await uow.function_calls.store([_stored_answer(key, owner, answer) for key, owner, _, answer in batch])
            await uow.commit()
    except SQLAlchemyError as exc:
        log.warning("idempotency answers not stored", call_ids=[call_id for _, _, call_id, _ in batch],
                    error=type(exc).__name__)


def _stored_answer(key: str, owner: str, answer: FunctionAnswer) -> dict[str, Any]:
    if not answer.success:  # nothing changed: the next try runs again (module docstring)
        return {"stored_key": key, "stored_owner": owner, "new_status": "retryable", "answer": None}
    return {"stored_key": key, "stored_owner": owner, "new_status": "done", "answer": answer.model_dump(mode="json")}


async def _holds(still_true: StillTrue, answer: FunctionAnswer) -> bool:
    try:
        return await still_true(answer)
    except SQLAlchemyError:
        return True  # unknown: the kept answer is the best knowledge there is


async def _claim(core: Core, request_key: str, call_id: str, name: str, lease: timedelta,
                 owner: str, *, fresh: bool = False) -> tuple[str, bool]:
    """(invocation key, whether this request claimed it). Not claimed: it is a retry of `key`.
    `fresh`: never a retry, always the call's next invocation."""
    for _ in range(4):
        try:
            # One transaction and one connection for the read and the claim: every mutating call
            # pays for it before anything else happens.
            async with core.uow() as uow:
                latest = await uow.function_calls.latest(call_id)
                now = _utcnow()
                if (not fresh and latest is not None and latest.request_key == request_key
                        and latest.created_at >= now - timedelta(seconds=RETRY_WINDOW_S)):
                    return latest.key, False
                seq = 0 if latest is None else int(latest.seq) + 1
                key = invocation_key(request_key, seq)
                await uow.function_calls.claim({
                    "key": key, "call_id": call_id, "name": name, "status": "in_progress",
                    "lease_until": now + lease, "request_key": request_key, "seq": seq, "owner": owner,
                    "created_at": now})
                await uow.commit()
            return key, True
        except IntegrityError:
            continue  # a concurrent request of this call claimed first: it may be this one's twin
    raise IntegrityError("function_calls", {}, Exception("claim kept conflicting"))


async def _stored(core: Core, key: str) -> FunctionCallRow | None:
    async with core.uow() as uow:
        return await uow.function_calls.get(key)


async def _take_over(core: Core, key: str, seen: FunctionCallRow, lease: timedelta, owner: str) -> bool:
    async with core.uow() as uow:
        taken = await uow.function_calls.take_over(key, seen, owner, _utcnow() + lease)
        await uow.commit()
        return taken
