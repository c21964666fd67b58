"""Retell's custom-function and call-event webhooks."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from booking_core.bootstrap import RunningCore
from booking_core.entrypoints.deps import CoreDep
from booking_core.entrypoints.signature import verify
from booking_core.language import phrases
from booking_core.observability import FUNCTION_LATENCY, log
from booking_core.schemas import (
    CALL_ID_HEADER,
    CALL_ID_MAX,
    CALLER_NUMBER_HEADER,
    FUNCTION_NAMES,
    PHONE_MAX,
    CallEvent,
    FunctionAnswer,
    FunctionArgs,
    RetellCall,
    storable,
)
from booking_core.service_layer.call_events import store_call_event
from booking_core.service_layer.context import CallContext
from booking_core.service_layer.handlers import run_function
from booking_core.service_layer.idempotency import idempotency_key, run_once
from booking_core.service_layer.stored_answers import still_true

router = APIRouter(prefix="/api/retell", tags=["retell"])

_FUNCTION_BODY = {
    "content": {"application/json": {"schema": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "enum": list(FUNCTION_NAMES)},
            "args": {"type": "object", "properties": {
                key: {"type": "string"} for key in FunctionArgs.model_fields}},
            "call": {"type": "object", "properties": {"call_id": {"type": "string"},
                                                      "from_number": {"type": "string"}}},
        },
        "required": ["name"],
    }}},
    "required": True,
}
_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"model": FunctionAnswer, "description": "Answer for the agent (also for refusals)"}}


def _answer(answer: FunctionAnswer, status: int = 200) -> JSONResponse:
    return JSONResponse(answer.model_dump(mode="json"), status_code=status)


def _refuse(error: str, message: str, status: int = 200, **data: Any) -> JSONResponse:
    return _answer(FunctionAnswer(success=False, error=error, message=message, data=data), status)


async def _signed_body(request: Request, core: RunningCore) -> bytes | JSONResponse:
    body = await request.body()
    key = core.settings.retell_api_key
    if key and not verify(body, key, request.headers.get("x-retell-signature")):
        log.warning("rejected unsigned or badly signed request", path=request.url.path)
        return _refuse("invalid_signature", "Nicht autorisiert.", status=401)
    return body


def _storable_header(value: str, limit: int) -> bool:
    try:
        storable(value)
    except ValueError:
        return False
    return len(value) <= limit


def _call_now(core: RunningCore, call: RetellCall | None) -> datetime:
    zone = core.settings.zone
    if call is not None and call.start_timestamp:
        try:
            return datetime.fromtimestamp(call.start_timestamp / 1000, zone)
        except (OverflowError, OSError, ValueError):
            pass
    return datetime.now(zone)


async def _dispatch(core: RunningCore, request: Request, name: str | None, body: bytes, *, args_at_root: bool) -> JSONResponse:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        return _refuse("invalid_json", "Die Anfrage konnte ich leider nicht lesen.", status=400)
    if not isinstance(payload, dict):
        return _refuse("invalid_json", "Die Anfrage konnte ich leider nicht lesen.", status=400)
    wrapped = not args_at_root or isinstance(payload.get("args"), dict) or "call" in payload
    name = name or payload.get("name")
    if not isinstance(name, str) or not name:
        return _refuse("unknown_function", phrases.unknown_function(), known_functions=list(FUNCTION_NAMES))
    raw_args = payload.get("args", {}) if wrapped else payload
    try:
        call_data = payload.get("call") if wrapped else None
        if call_data is not None and not isinstance(call_data, dict):
            raise TypeError("call")
        call = RetellCall.model_validate(call_data) if call_data is not None else None
        if not isinstance(raw_args, dict):
            raise TypeError("args")
        args = FunctionArgs.model_validate(raw_args)
    except ValidationError as exc:
        fields = sorted({str(err["loc"][0]) if err["loc"] else "args" for err in exc.errors()})
        return _refuse("invalid_args", phrases.invalid_args(), invalid=fields)
    except TypeError as exc:
        return _refuse("invalid_args", phrases.invalid_args(), invalid=[str(exc)])
    call_id = (call.call_id if call else None) or request.headers.get(CALL_ID_HEADER)
    if call_id is not None and not _storable_header(call_id, CALL_ID_MAX):
        return _refuse("invalid_args", phrases.invalid_args(), invalid=["call_id"])
    # args_at_root: no call object; the tool headers carry Retell's {{user_number}}
    caller_phone = call.from_number if call else (request.headers.get(CALLER_NUMBER_HEADER) or None)
    if caller_phone is not None and not _storable_header(caller_phone, PHONE_MAX):
        return _refuse("invalid_args", phrases.invalid_args(), invalid=["from_number"])
    ctx = CallContext(
        call_id=call_id,
        caller_phone=caller_phone,
        now=_call_now(core, call),
        idempotency_key=idempotency_key(call_id, name, args.model_dump(exclude_none=True)),
        fault=request.headers.get("x-callsim-fault") if core.settings.callsim_test_hooks else None,
    )
    started = time.perf_counter()
    try:
        answer = await run_once(core, ctx.idempotency_key, call_id, name, lambda key, first: run_function(
            core, name, replace(ctx, idempotency_key=key, first_attempt=first), args),
            still_true=lambda kept: still_true(core, name, kept))
    except Exception:  # the agent must never hear a traceback
        log.exception("function failed", call_id=call_id, function=name)
        answer = FunctionAnswer(success=False, error="internal", message=phrases.technical_problem())
    outcome = "ok" if answer.success else (answer.error or "refused")
    FUNCTION_LATENCY.labels(name if name in FUNCTION_NAMES else "unknown", outcome).observe(
        time.perf_counter() - started)
    log.info("function answered", call_id=call_id, function=name, success=answer.success, error=answer.error)
    return _answer(answer)


@router.post("/function-call", responses=_ANSWER, openapi_extra={"requestBody": _FUNCTION_BODY})
async def function_call(request: Request, core: CoreDep) -> JSONResponse:
    body = await _signed_body(request, core)
    if isinstance(body, JSONResponse):
        return body
    return await _dispatch(core, request, None, body, args_at_root=False)


@router.post("/webhook")
async def call_event(request: Request, core: CoreDep) -> JSONResponse:
    """Call lifecycle events; Retell delivers each up to 3 times, we store each once."""
    body = await _signed_body(request, core)
    if isinstance(body, JSONResponse):
        return body
    try:
        event = CallEvent.model_validate_json(body)
    except ValidationError:
        return JSONResponse({"ok": False, "error": "invalid_event"}, status_code=400)
    call_id = event.call.call_id
    if not call_id:
        return JSONResponse({"ok": False, "error": "missing call_id"}, status_code=400)
    try:
        stored = await store_call_event(core, call_id, event, json.loads(body))
    except IntegrityError:
        stored = False  # a concurrent duplicate delivery won
    except DataError as exc:
        # The event can never be stored (a value the columns cannot hold): a 4xx, so Retell stops
        # redelivering it; a 5xx is for what may work on the next delivery.
        log.warning("call event not storable", call_id=call_id, event=event.event, error=str(exc.orig)[:200])
        return JSONResponse({"ok": False, "error": "invalid_event"}, status_code=422)
    except SQLAlchemyError:
        return JSONResponse({"ok": False, "error": "db_unavailable"}, status_code=503)
    return JSONResponse({"ok": True, "duplicate": not stored})


def _function_route(name: str) -> None:
    async def endpoint(request: Request, core: CoreDep) -> JSONResponse:
        body = await _signed_body(request, core)
        if isinstance(body, JSONResponse):
            return body
        return await _dispatch(core, request, name, body, args_at_root=True)

    endpoint.__name__ = name
    router.add_api_route(f"/{name.replace('_', '-')}", endpoint, methods=["POST"], responses=_ANSWER,
                         summary=name, openapi_extra={"requestBody": {"content": {"application/json": {
                             "schema": {"type": "object"}}}, "required": True}})


for _name in FUNCTION_NAMES:
    _function_route(_name)
