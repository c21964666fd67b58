"""ASGI middleware that journals every /v2 request and applies the fault plan to it.

Raw ASGI (not BaseHTTPMiddleware) because faults act below HTTP: a response withheld, cut short,
dribbled, or a connection dropped; and because it adds next to nothing to the no-fault path.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from time import perf_counter
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_calcom.errors import (
    MSG_INVALID_API_KEY,
    MSG_SLOT_TAKEN,
    MSG_THROTTLED,
    error_body,
    utc_timestamp,
)
from mock_calcom.faults.connection import drop_connection, transport_of, wait_for_disconnect
from mock_calcom.faults.rules import FaultPlan, FaultRule, parse_fault_header
from mock_calcom.journal import JOURNALED_HEADERS, JournalEntry
from mock_calcom.state import MockState

# What a CDN in front of an API answers when the origin is down or slow (Cal.com sits behind one).
_PROXY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
    "</body>\r\n</html>\r\n"
)
# Not JSON, although labelled so: what a serializer bug or a misbehaving proxy hands back.
_MALFORMED_BODY = b'{"status": "success", "data": undefined}'
_JSON = "application/json"
_COMMITTING_BY_DEFAULT = {"truncated_json": True, "malformed_json": False, "garbage_then_close": False}
# Cloudflare's own origin error codes (its 5xx pages are HTML, never Cal.com's JSON).
_PROXY_STATUSES = {
    502: "Bad Gateway",
    504: "Gateway Timeout",
    520: "Web server is returning an unknown error",
    521: "Web server is down",
    522: "Connection timed out",
    523: "Origin is unreachable",
    524: "A timeout occurred",
}
# Bytes no HTTP parser accepts: a TLS record header, then noise.
_GARBAGE = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage, not HTTP \x00\xff\r\n\r\n"


@dataclass
class Captured:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


class Exchange:
    """One request/response pair as the injector sees it: sends, and records the result in the journal."""

    def __init__(
        self, scope: Scope, receive: Receive, send: Send, entry: JournalEntry, started: float
    ) -> None:
        self.scope, self.receive, self._send, self.entry, self.started = (
            scope,
            receive,
            send,
            entry,
            started,
        )

    def finish(self, outcome: str, status: int | None) -> None:
        self.entry.outcome = outcome
        self.entry.status = status
        self.entry.latency_ms = round((perf_counter() - self.started) * 1000, 3)

    def _extra_headers(self) -> list[tuple[bytes, bytes]]:
        elapsed = (perf_counter() - self.started) * 1000
        extra = [(b"server-timing", f"mock;dur={elapsed:.3f}".encode())]
        for name, value in self.scope.get("state", {}).get("mock_headers", {}).items():
            extra.append((name.lower().encode(), value.encode()))
        return extra

    async def send_raw(self, message: Message) -> None:
        await self._send(message)

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.entry.status = status
        await self._send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": headers + self._extra_headers(),
            }
        )

    async def respond(
        self,
        status: int,
        body: bytes,
        content_type: str = _JSON,
        headers: dict[str, str] | None = None,
    ) -> None:
        raw_headers = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        await self.start(status, raw_headers)
        await self._send({"type": "http.response.body", "body": body})
        self.finish("response", status)

    async def replay(self, captured: Captured, body: bytes | None = None) -> None:
        body = captured.body if body is None else body
        headers = [(k, v) for k, v in captured.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.start(captured.status, headers)
        await self._send({"type": "http.response.body", "body": body})
        self.finish("response", captured.status)

    async def drop(self, *, reset: bool) -> None:
        self.finish("reset" if reset else "empty_reply", None)
        await drop_connection(self.receive, reset=reset)

    async def cut(self, captured: Captured, then: str, hang_s: float = 0) -> None:
        """Headers announcing the whole body, then only part of it (none for "hang"), then the
        connection is closed ("close"), reset ("reset") or left silent until `hang_s` ("hang")."""
        headers = [(k, v) for k, v in captured.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(captured.body)).encode()))
        await self.start(captured.status, headers)
        part = b"" if then == "hang" else captured.body[: max(1, len(captured.body) // 2)]
        await self._send({"type": "http.response.body", "body": part, "more_body": True})
        if then == "hang":
            await self.hold(hang_s)
            return
        await asyncio.sleep(0.05)  # let the part reach the wire before the socket goes
        await self.drop(reset=then == "reset")

    async def garbage(self) -> None:
        transport = transport_of(self.receive)
        if transport is not None:
            transport.write(_GARBAGE)
        await self.drop(reset=False)

    async def hold(self, seconds: float) -> None:
        """Keep the client waiting; if it is still there after `seconds`, close without a response."""
        if await wait_for_disconnect(self.receive, seconds):
            self.finish("client_gone", None)
        else:
            await self.drop(reset=False)

    async def dribble(self, captured: Captured, chunks: int, delay_s: float) -> None:
        """Headers at once, then the body in pieces with pauses (each longer than a read timeout)."""
        headers = [(k, v) for k, v in captured.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(captured.body)).encode()))
        await self.start(captured.status, headers)
        size = max(1, -(-len(captured.body) // chunks))
        pieces = [captured.body[i : i + size] for i in range(0, len(captured.body), size)] or [b""]
        gone = asyncio.ensure_future(wait_for_disconnect(self.receive, None))
        try:
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                await self._send(
                    {"type": "http.response.body", "body": piece, "more_body": not last}
                )
                if last:
                    break
                await asyncio.wait({gone}, timeout=delay_s)
                if gone.done():
                    self.finish("client_gone", captured.status)
                    return
            self.finish("response", captured.status)
        finally:
            gone.cancel()


class FaultInjector:
    def __init__(self, app: ASGIApp, state: MockState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v2"):
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        body = await _read_body(receive)
        headers = Headers(scope=scope)
        entry = self.state.journal.record(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            body,
            {name: headers[name] for name in JOURNALED_HEADERS if name in headers},
            utc_timestamp(),
        )
        exchange = Exchange(scope, receive, send, entry, started)
        try:
            header_rules = (
                parse_fault_header(headers["x-mock-fault"]) if "x-mock-fault" in headers else []
            )
        except (ValidationError, ValueError) as exc:
            message = f"invalid X-Mock-Fault header: {exc}".replace("\n", " ")
            await exchange.respond(400, _json(error_body(400, message, scope["path"])))
            return
        config = self.state.config
        plan = self.state.faults.plan(
            scope["method"], scope["path"], header_rules, self.state.rng, config.max_hang_s * 1000
        )
        entry.faults = plan.applied
        entry.fault = "+".join(plan.applied) or None
        scope.setdefault("state", {})["mock_flags"] = plan.flags
        if plan.delay_ms:
            entry.delay_ms = round(min(plan.delay_ms, config.max_hang_s * 1000), 3)
            await asyncio.sleep(entry.delay_ms / 1000)
        await self._apply(plan, exchange, body)

    async def _apply(self, plan: FaultPlan, exchange: Exchange, body: bytes) -> None:
        rule = plan.outcome
        if rule is None:
            replay = _replay(body, exchange.receive)
            await self.app(exchange.scope, replay, self._recording_send(exchange))
            return
        kind = rule.kind
        max_hang_s = self.state.config.max_hang_s
        if kind in ("reset", "reject_then_reset"):
            await exchange.drop(reset=True)
        elif kind == "outage":
            # The request that meets the outage is lost with its connection; new ones are refused.
            self.state.listeners.go_down(rule.seconds or 5.0)
            await exchange.drop(reset=True)
        elif kind == "empty_reply":
            await exchange.drop(reset=False)
        elif kind == "hang":
            await exchange.hold(min(rule.seconds or max_hang_s, max_hang_s))
        elif kind.startswith("http_"):
            await exchange.respond(*self._error_response(rule, exchange.scope["path"]))
        else:
            commit = (
                rule.commit if rule.commit is not None else _COMMITTING_BY_DEFAULT.get(kind, True)
            )
            captured = await self._run_captured(exchange, body) if commit else Captured(status=200)
            await self._spoil(rule, exchange, captured, max_hang_s)

    async def _spoil(
        self, rule: FaultRule, exchange: Exchange, captured: Captured, max_hang_s: float
    ) -> None:
        """The request was (or was not) processed; now the answer goes wrong on its way back."""
        kind = rule.kind
        if kind == "commit_then_500":
            await exchange.respond(500, _json(error_body(500, "", exchange.scope["path"])))
        elif kind == "commit_then_timeout":
            await exchange.hold(min(rule.seconds or max_hang_s, max_hang_s))
        elif kind == "commit_then_reset":
            await exchange.drop(reset=True)
        elif kind == "malformed_json":
            await exchange.replay(
                captured if captured.headers else _json_captured(captured.status), _MALFORMED_BODY
            )
        elif kind == "truncated_json":
            await exchange.replay(captured, captured.body[: max(1, len(captured.body) // 2)])
        elif kind == "slow_body":
            await exchange.dribble(captured, rule.chunks, rule.chunk_delay_ms / 1000)
        elif kind == "partial_body":
            await exchange.cut(captured, "close")
        elif kind == "reset_mid_body":
            await exchange.cut(captured, "reset")
        elif kind == "headers_then_hang":
            await exchange.cut(captured, "hang", min(rule.seconds or max_hang_s, max_hang_s))
        elif kind == "garbage_then_close":
            await exchange.garbage()
        elif kind == "bandwidth":
            # 10 pieces a second, each a tenth of the rate.
            piece = max(1, int(rule.bytes_per_s / 10))
            await exchange.dribble(captured, max(2, -(-len(captured.body) // piece)), 0.1)
        elif kind == "unexpected_booking":
            await exchange.replay(*_unexpected_booking(captured))
        else:  # stale_slots and other flags are handled by the routes; nothing to spoil.
            await exchange.replay(captured)

    def _error_response(self, rule: FaultRule, path: str) -> tuple[int, bytes, str, dict[str, str]]:
        status = {
            "http_500": 500,
            "http_502": 502,
            "http_503": 503,
            "http_504": 504,
            "http_429": 429,
            "http_401": 401,
        }.get(rule.kind, rule.status or 500)
        if status in _PROXY_STATUSES:
            page = _PROXY_PAGE.format(status=status, reason=_PROXY_STATUSES[status])
            return status, page.encode(), "text/html", {}
        headers: dict[str, str] = {}
        if status == 429:
            limit = self.state.config.rate_limit_requests
            headers = {
                "X-RateLimit-Limit-Default": str(limit),
                "X-RateLimit-Remaining-Default": "0",
                "X-RateLimit-Reset-Default": str(rule.reset_s),
            }
        message = {
            401: MSG_INVALID_API_KEY,
            429: MSG_THROTTLED,
            400: MSG_SLOT_TAKEN,
            409: MSG_SLOT_TAKEN,
        }.get(status, _phrase(status))
        return status, _json(error_body(status, message, path)), _JSON, headers

    async def _run_captured(self, exchange: Exchange, body: bytes) -> Captured:
        captured = Captured()
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(exchange.scope, _replay(body, exchange.receive), capture)
        captured.body = b"".join(chunks)
        return captured

    @staticmethod
    def _recording_send(exchange: Exchange) -> Send:
        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await exchange.start(message["status"], list(message.get("headers", [])))
                return
            await exchange.send_raw(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                exchange.finish("response", exchange.entry.status)

        return send


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _unexpected_booking(captured: Captured) -> tuple[Captured, bytes]:
    """A 200 whose booking is not what the 2024-08-13 output promises: status "pending" and no
    metadata (older builds had no metadata in the output). The booking itself is stored as usual."""
    try:
        payload = json.loads(captured.body)
    except ValueError:
        return captured, captured.body
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, dict) and "uid" in data:
        data["status"] = "pending"
        data.pop("metadata", None)
    return Captured(status=200, headers=captured.headers), _json(payload)


def _json(payload: Any) -> bytes:
    # Byte-for-byte what Starlette's JSONResponse (and Express) would send.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _json_captured(status: int) -> Captured:
    return Captured(status=status, headers=[(b"content-type", _JSON.encode())])


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replay
