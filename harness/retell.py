"""The Retell platform as the webhook sees it: shapes, signature, timeouts, retries, events.

Retell signs the raw body, gives each custom function a timeout, retries a failed or timed-out
function call up to 2 times and a call event up to 3 times, and now and then delivers an event
twice. Doing the same here is what makes the core's idempotency face production conditions.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from booking_core.schemas import FunctionAnswer, retell_tools
from harness.results import EventDelivery, FunctionCallRecord, Utterance
from harness.scenario import Transport

EVENT_RETRIES = 3
# Retell retries a custom tool with exponential backoff plus jitter (the delay is not configurable;
# retell-sdk types/llm_create_params.py GeneralToolCustomTool.max_retry). Its base is not published:
# these are ours, short enough for CI.
BACKOFF_BASE_S = 0.2
BACKOFF_CAP_S = 2.0
SALON_NUMBER = "+493012345670"
AGENT_ID = "agent_callsim_haarmonie"
_SERVER_TIMING = re.compile(r"app;dur=([0-9.]+)")


def sign(api_key: str, body: bytes, now_ms: int | None = None) -> str:
    """`v=<ms>,d=<hex hmac_sha256(key, body + str(ms))>`, Retell's X-Retell-Signature."""
    stamp = now_ms if now_ms is not None else int(time.time() * 1000)
    digest = hmac.new(api_key.encode(), body + str(stamp).encode(), hashlib.sha256).hexdigest()
    return f"v={stamp},d={digest}"


def server_ms(headers: httpx.Headers) -> float | None:
    match = _SERVER_TIMING.search(headers.get("server-timing", ""))
    return float(match.group(1)) if match else None


@dataclass
class LiveCall:
    """The call object Retell keeps while a call is ongoing."""

    call_id: str
    from_number: str
    start_timestamp: int
    utterances: list[Utterance] = field(default_factory=list)
    status: str = "ongoing"
    end_timestamp: int | None = None

    def as_retell(self) -> dict[str, Any]:
        call: dict[str, Any] = {
            "call_id": self.call_id,
            "call_type": "phone_call",
            "agent_id": AGENT_ID,
            "from_number": self.from_number,
            "to_number": SALON_NUMBER,
            "direction": "inbound",
            "call_status": self.status,
            "agent_version": 1,
            "start_timestamp": self.start_timestamp,
            "transcript": "\n".join(
                f"{'Agent' if u.role == 'agent' else 'User'}: {u.text}" for u in self.utterances
            ),
            "transcript_object": [{"role": u.role, "content": u.text} for u in self.utterances],
            "metadata": {"simulator": "callsim"},
            "retell_llm_dynamic_variables": self.dynamic_variables(),
        }
        if self.end_timestamp is not None:
            call["end_timestamp"] = self.end_timestamp
            call["duration_ms"] = self.end_timestamp - self.start_timestamp
            call["disconnection_reason"] = "user_hangup"
        return call

    def dynamic_variables(self) -> dict[str, str]:
        """Retell's system variables a tool header may name as {{...}}."""
        return {"call_id": self.call_id, "user_number": self.from_number, "agent_number": SALON_NUMBER,
                "from_number": self.from_number, "to_number": SALON_NUMBER}

    def fill(self, template: str) -> str:
        values = self.dynamic_variables()
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values.get(m.group(1), ""), template)


class RetellPlatform:
    """Delivers function calls and events of one scenario to the webhook."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        webhook_url: str,
        transport: Transport,
        api_key: str | None = None,
        extra_headers: dict[str, str] | None = None,
        seed: int = 0,
    ) -> None:
        self._client = client
        self._base = webhook_url.rstrip("/")
        self._transport = transport
        self._api_key = api_key if transport.sign else None
        self._extra = extra_headers or {}
        # The tools as `callsim retell-tools` would configure them: what the scenario tests is the deployment.
        self._tools = {tool["name"]: tool for tool in retell_tools(webhook_url)}
        self._jitter = random.Random(seed)

    def timeout_s(self, name: str) -> float:
        if self._transport.timeout_ms is not None:
            return self._transport.timeout_ms / 1000
        if self._transport.timeout_s is not None:
            return self._transport.timeout_s
        return float(self._tools.get(name, {}).get("timeout_ms", 120_000)) / 1000

    def max_retry(self, name: str) -> int:
        if self._transport.max_retry is not None:
            return self._transport.max_retry
        return int(self._tools.get(name, {}).get("max_retry", 0))

    def backoff_s(self, retry: int) -> float:
        return min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** retry) * self._jitter.uniform(0.5, 1.0)

    def tool_headers(self, call: LiveCall, name: str) -> dict[str, str]:
        return {key: call.fill(value) for key, value in self._tools.get(name, {}).get("headers", {}).items()}

    @property
    def sends_call_object(self) -> bool:
        return not self._transport.args_at_root

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", **self._extra}
        if self._api_key:
            headers["X-Retell-Signature"] = sign(self._api_key, body)
        return headers

    def _request(self, call: LiveCall, name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, str]]:
        extra = self.tool_headers(call, name)
        if self._transport.route == "function-call":
            return f"{self._base}/api/retell/function-call", {"name": name, "args": args,
                                                               "call": call.as_retell()}, extra
        url = f"{self._base}/api/retell/{name.replace('_', '-')}"
        if self._transport.args_at_root:
            return url, dict(args), extra
        return url, {"name": name, "args": args, "call": call.as_retell()}, extra

    async def function_call(self, call: LiveCall, name: str, args: dict[str, Any]) -> FunctionCallRecord:
        url, payload, extra = self._request(call, name, args)
        record = FunctionCallRecord(name=name, args=args, route=url.rsplit("/api/retell/", 1)[-1])
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        started = time.perf_counter()
        timeout = self.timeout_s(name)
        for attempt in range(1 + self.max_retry(name)):
            record.attempts = attempt + 1
            if attempt:
                await asyncio.sleep(self.backoff_s(attempt - 1))
            try:
                response = await self._client.post(
                    url, content=body, headers={**self._headers(body), **extra}, timeout=timeout,
                )
            except httpx.TimeoutException:
                record.transport_error = f"timeout after {timeout:g} s"
                continue
            except httpx.TransportError as error:
                record.transport_error = f"{type(error).__name__}: {error}"
                continue
            record.status_code = response.status_code
            record.server_ms = server_ms(response.headers)
            if response.status_code >= 500 or response.status_code == 429:
                record.transport_error = f"HTTP {response.status_code}"
                continue
            record.transport_error = None
            self._read_answer(record, response)
            break
        record.client_ms = (time.perf_counter() - started) * 1000
        return record

    @staticmethod
    def _read_answer(record: FunctionCallRecord, response: httpx.Response) -> None:
        if response.status_code != 200:
            record.transport_error = f"HTTP {response.status_code}: {response.text[:200]}"
            return
        try:
            answer = FunctionAnswer.model_validate_json(response.content)
        except ValidationError as error:
            record.transport_error = f"answer breaks the contract: {error.errors()[0]['msg']}"
            return
        record.success = answer.success
        record.error = answer.error
        record.message = answer.message
        record.data = answer.data

    async def event(self, call: LiveCall, event: str) -> list[EventDelivery]:
        deliveries = [await self._deliver_event(call, event)]
        if self._transport.duplicate_events:
            deliveries.append(await self._deliver_event(call, event))
        return deliveries

    async def _deliver_event(self, call: LiveCall, event: str) -> EventDelivery:
        body = json.dumps({"event": event, "call": call.as_retell()}, ensure_ascii=False,
                          separators=(",", ":")).encode()
        delivery = EventDelivery(event=event, attempts=0)
        for attempt in range(1 + EVENT_RETRIES):
            delivery.attempts = attempt + 1
            try:
                response = await self._client.post(
                    f"{self._base}/api/retell/webhook", content=body, headers=self._headers(body),
                    timeout=self.timeout_s("book_appointment"),
                )
            except httpx.TransportError as error:
                delivery.error = f"{type(error).__name__}: {error}"
                continue
            delivery.status_code = response.status_code
            if response.is_success:
                delivery.error = None
                break
            delivery.error = f"HTTP {response.status_code}"
        return delivery
