"""The Retell platform checked against Retell's own SDK: tool models, signatures, call bodies."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import pytest
from retell import Retell
from retell.lib.webhook_auth import symmetric
from retell.types.llm_response import GeneralToolCustomTool
from retell.types.phone_call_response import PhoneCallResponse

from booking_core.entrypoints.signature import verify
from booking_core.schemas import retell_tools
from harness.agent import simulate_call
from harness.callers import CallerIdentity
from harness.clock import BERLIN
from harness.results import CallRecord
from harness.retell import LiveCall, RetellPlatform, sign
from harness.scenario import Policy, Transport

NOW = datetime(2030, 3, 4, 10, 0, tzinfo=BERLIN)
CALLER = CallerIdentity(name="Jana Schulz", first_name="Jana", last_name="Schulz", phone="+4915112345678")


@pytest.mark.parametrize("tool", retell_tools("https://salon.example"), ids=lambda t: t["name"])
def test_every_generated_tool_is_a_valid_retell_custom_tool(tool: dict) -> None:
    model = GeneralToolCustomTool.model_validate(tool)
    assert set(tool) <= set(GeneralToolCustomTool.model_fields)  # nothing the SDK does not know
    assert 1000 <= model.timeout_ms <= 600_000 and 0 <= model.max_retry <= 5  # type: ignore[operator]
    assert model.headers == {"X-Retell-Call-Id": "{{call_id}}", "X-Retell-User-Number": "{{user_number}}"}


def test_signatures_agree_with_the_sdks_signing_function() -> None:
    body = json.dumps({"name": "book_appointment", "args": {"service": "Föhnen"}}, ensure_ascii=False)
    by_sdk = symmetric["sign"](body, "key_abc", 1_760_000_000_000)
    assert by_sdk == sign("key_abc", body.encode(), 1_760_000_000_000)
    assert verify(body.encode(), "key_abc", by_sdk, now_ms=1_760_000_000_000)
    assert symmetric["verify"](body, "key_abc", sign("key_abc", body.encode()))
    assert Retell(api_key="key_abc").verify(body, "key_abc", sign("key_abc", body.encode()))  # the client's own check
    assert not verify(body.encode(), "other", by_sdk, now_ms=1_760_000_000_000)


def test_call_bodies_are_phone_call_responses() -> None:
    call = LiveCall(call_id="call_1", from_number=CALLER.phone, start_timestamp=1_760_000_000_000)
    PhoneCallResponse.model_validate(call.as_retell())
    call.status, call.end_timestamp = "ended", 1_760_000_030_000
    ended = PhoneCallResponse.model_validate(call.as_retell())
    assert ended.call_status == "ended" and ended.duration_ms == 30_000


async def test_platform_uses_the_tools_timeout_retries_and_headers() -> None:
    seen: list[httpx.Request] = []

    def failing(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("webhook"):
            return httpx.Response(200, json={"ok": True})
        seen.append(request)
        return httpx.Response(503)

    transport = Transport(route="per-function", args_at_root=True, max_retry=3)
    async with httpx.AsyncClient(transport=httpx.MockTransport(failing)) as client:
        platform = RetellPlatform(client, "http://core.test", transport, seed=1)
        assert platform.timeout_s("book_appointment") == 8.0  # from `callsim retell-tools`
        assert RetellPlatform(client, "http://core.test", Transport()).max_retry("book_appointment") == 2
        delays = [platform.backoff_s(i) for i in range(4)]
        assert all(0.5 * min(2.0, 0.2 * 2 ** i) <= d <= min(2.0, 0.2 * 2 ** i) for i, d in enumerate(delays))
        record = CallRecord(scenario="t", call_index=0, caller_index=0, call_id="call_9", from_number=CALLER.phone,
                            caller_name=CALLER.name, now=NOW.isoformat())
        await simulate_call(platform, ["Herrenschnitt morgen um 10 Uhr"], CALLER, NOW, Policy(), record)
    assert len(seen) == 4 and record.functions[0].attempts == 4  # 1 + max_retry
    assert {r.headers["x-retell-call-id"] for r in seen} == {"call_9"}
    assert {r.headers["x-retell-user-number"] for r in seen} == {CALLER.phone}
