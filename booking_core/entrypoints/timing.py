"""Raw ASGI middleware: `Server-Timing: app;dur=<ms>` on every answer, a body size cap and a
body-read deadline; a client that goes away mid-body is a log line, not a traceback.

Plain ASGI rather than BaseHTTPMiddleware: it costs nothing on the hot path.
"""

import asyncio
import json
import time
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from booking_core.observability import log

TOO_LARGE = json.dumps({"success": False, "error": "invalid_args",
                        "message": "Die Anfrage war zu groß.", "data": {}}).encode()
TOO_SLOW = json.dumps({"success": False, "error": "body_timeout",
                       "message": "Die Anfrage kam nicht vollständig an. Bitte noch einmal senden.",
                       "data": {}}).encode()


class ServerTimingMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, body_read_timeout_s: float = 5.0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # One deadline for the whole body, not per chunk: a client trickling a byte at a time
        # must not hold a worker's connection (and a Retell tool slot) open.
        self.body_read_timeout_s = body_read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_body_bytes:
                await _send_too_large(send)
                return
        received = 0
        body_deadline = time.monotonic() + self.body_read_timeout_s
        body_done = False
        response_started = False

        async def capped_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()  # after the body only a disconnect can come: no deadline
            try:
                message = await asyncio.wait_for(receive(), max(0.0, body_deadline - time.monotonic()))
            except TimeoutError:
                raise BodyTimeout from None
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        async def timed_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                took = (time.perf_counter() - started) * 1000
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={took:.2f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, capped_receive, timed_send)
        except BodyTooLarge:
            await _send_too_large(send)
        except BodyTimeout:
            log.warning("request body not received in time", path=scope.get("path"),
                        received_bytes=received, timeout_s=self.body_read_timeout_s)
            if not response_started:
                await _send_json(send, 408, TOO_SLOW, close=True)
        except ClientDisconnect:
            # Nobody is left to answer; the handler stopped before touching anything.
            log.info("client disconnected before the body was complete", path=scope.get("path"),
                     received_bytes=received)


class BodyTooLarge(Exception):
    pass


class BodyTimeout(Exception):
    pass


async def _send_too_large(send: Send) -> None:
    await _send_json(send, 413, TOO_LARGE)


async def _send_json(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:  # the rest of the body may still arrive: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
