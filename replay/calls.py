"""Which Retell call a request belongs to, so a recording can be cut into one cassette per call."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from replay.session import current_call

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]


def call_id_of(body: bytes, headers: dict[str, str]) -> str | None:
    """Retell's call id: the call object in the body, else the X-Retell-Call-Id header."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    call = payload.get("call") if isinstance(payload, dict) else None
    if isinstance(call, dict) and isinstance(call.get("call_id"), str) and call["call_id"]:
        return str(call["call_id"])
    return headers.get("x-retell-call-id") or None


class CallTagging:
    """ASGI wrapper: the Retell call of each webhook request, for every Cal.com exchange it causes
    (context variables follow into the tasks it spawns, compensation included)."""

    def __init__(self, app: Any, calls: set[str]) -> None:
        self._app = app
        self._calls = calls

    async def __call__(self, scope: Message, receive: Receive, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/retell/"):
            await self._app(scope, receive, send)
            return
        buffered: list[Message] = []
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        body = b"".join(m.get("body", b"") for m in buffered if m["type"] == "http.request")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        call = call_id_of(body, headers)

        async def replayed() -> Message:
            return buffered.pop(0) if buffered else await receive()

        if call:
            self._calls.add(call)
        token = current_call.set(call)
        try:
            await self._app(scope, replayed, send)
        finally:
            current_call.reset(token)
