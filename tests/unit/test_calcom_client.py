"""How the client classifies Cal.com's answers: the SAGA's decisions hang on these classes."""

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from booking_core.adapters.calcom import (
    CalcomCancelRefused,
    CalcomClient,
    CalcomOutcomeUnknown,
    CalcomRejected,
    CalcomSlotNotPossible,
    CalcomSlotTaken,
    CalcomUnreachable,
)

START = datetime(2030, 1, 7, 9, tzinfo=UTC)
BOOKING = {"id": 1, "uid": "abc", "status": "accepted", "start": "2030-01-07T09:00:00.000Z",
           "end": "2030-01-07T10:00:00.000Z", "eventTypeId": 2, "metadata": {"appointment_id": "x"}}


def client(handler) -> CalcomClient:  # type: ignore[no-untyped-def]
    return CalcomClient("http://calcom.test", "cal_test", timeout_s=0.3, transport=httpx.MockTransport(handler))


async def create(c: CalcomClient):  # type: ignore[no-untyped-def]
    return await c.create_booking(event_type_id=2, start=START, length_min=60,
                                  attendee={"name": "A", "email": "a@b.invalid", "timeZone": "Europe/Berlin"},
                                  metadata={"appointment_id": "x"})


async def test_created_booking_is_parsed_and_request_carries_v2_headers() -> None:
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(201, json={"status": "success", "data": BOOKING})

    booking = await create(client(handler))
    assert booking.uid == "abc" and booking.active
    assert seen["cal-api-version"] == "2024-08-13"
    assert seen["authorization"] == "Bearer cal_test"


@pytest.mark.parametrize(("status", "message", "expected"), [
    (400, "User either already has booking at this time or is not available", CalcomSlotTaken),
    (409, "Conflict", CalcomSlotTaken),
    (401, "Invalid API key", CalcomRejected),
    (500, "Internal server error", CalcomOutcomeUnknown),
    (503, "", CalcomOutcomeUnknown),
    (429, "Too many requests", CalcomOutcomeUnknown),
])
async def test_error_statuses(status: int, message: str, expected: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"status": "error", "error": {"code": "X", "message": message}})

    with pytest.raises(expected):
        await create(client(handler))


async def test_malformed_body_is_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, content=b'{"status": "success", "data": {"uid"')

    with pytest.raises(CalcomOutcomeUnknown):
        await create(client(handler))


async def test_connection_refused_means_nothing_happened() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(CalcomUnreachable):
        await create(client(handler))


async def test_reset_after_sending_is_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    with pytest.raises(CalcomOutcomeUnknown):
        await create(client(handler))


async def test_hang_is_cut_at_the_deadline() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(201, json={"status": "success", "data": BOOKING})

    c = client(handler)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(CalcomOutcomeUnknown):
        await c.create_booking(event_type_id=2, start=START, length_min=60, attendee={}, metadata={}, timeout_s=0.2)
    assert loop.time() - started < 1.0


async def test_find_by_metadata_pages_through_listing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        skip = int(request.url.params.get("skip", 0))
        item = dict(BOOKING, uid=f"u{skip}", metadata={"appointment_id": f"id{skip}"})
        return httpx.Response(200, json={"status": "success", "data": [item],
                                         "pagination": {"hasNextPage": skip < 200}})

    found = await client(handler).find_by_metadata("appointment_id", "id200", event_type_id=2,
                                                   after_start=START, before_end=START)
    assert found is not None and found.uid == "u200"


def _json_of(request: httpx.Request) -> dict:  # type: ignore[type-arg]
    import json

    return json.loads(request.content)


async def test_create_sends_no_length_for_a_single_length_event_type() -> None:
    sent: list[dict] = []  # type: ignore[type-arg]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/event-types":
            return httpx.Response(200, json={"status": "success", "data": [
                {"id": 2, "lengthInMinutes": 60},
                {"id": 3, "lengthInMinutes": 30, "lengthInMinutesOptions": [30, 45]}]})
        sent.append(_json_of(request))
        start = sent[-1]["start"]
        return httpx.Response(201, json={"status": "success", "data": dict(BOOKING, start=start)})

    c = client(handler)
    await create(c)
    await c.event_types()
    await create(c)
    await c.create_booking(event_type_id=3, start=START, length_min=45,
                           attendee={"name": "A", "email": "a@b.invalid", "timeZone": "Europe/Berlin"},
                           metadata={})
    assert "lengthInMinutes" not in sent[0] and "lengthInMinutes" not in sent[1]
    assert sent[2]["lengthInMinutes"] == 45


async def test_invalid_phone_is_left_out_and_valid_one_kept() -> None:
    sent: list[dict] = []  # type: ignore[type-arg]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(_json_of(request))
        return httpx.Response(201, json={"status": "success", "data": BOOKING})

    c = client(handler)
    for phone in ("+4915300000001", "+491701234567"):
        await c.create_booking(event_type_id=2, start=START, length_min=60, metadata={},
                               attendee={"name": "A", "email": "a@b.invalid", "timeZone": "Europe/Berlin",
                                         "phoneNumber": phone})
    assert "phoneNumber" not in sent[0]["attendee"]
    assert sent[1]["attendee"]["phoneNumber"] == "+491701234567"


@pytest.mark.parametrize("message", [
    'The event type can\'t be booked at the "start" time provided. This could be because it\'s too soon '
    "(violating the minimum booking notice) or too far in the future (outside the event's scheduling window).",
    "Attempting to book a meeting in the past.",
])
async def test_out_of_bounds_start_is_a_slot_not_possible(message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"status": "error", "error": {"code": "BadRequestException",
                                                                      "message": message}})

    with pytest.raises(CalcomSlotNotPossible) as caught:
        await create(client(handler))
    assert isinstance(caught.value, CalcomSlotTaken)  # the core offers other times for both


async def test_created_booking_for_another_start_is_an_unknown_outcome() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "success", "data": dict(BOOKING, start="2030-01-07T10:00:00.000Z")})

    with pytest.raises(CalcomOutcomeUnknown):
        await create(client(handler))


@pytest.mark.parametrize("status", [502, 520, 524, 403])
async def test_proxy_html_page_is_an_unknown_outcome(status: int) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=b"<html><body>Bad gateway</body></html>",
                              headers={"content-type": "text/html"})

    with pytest.raises(CalcomOutcomeUnknown):
        await create(client(handler))


def _answer(status: int, body: object):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body)
    return handler


def _envelope(message: str) -> dict:  # type: ignore[type-arg]
    return {"status": "error", "error": {"code": "BadRequestException", "message": message}}


@pytest.mark.parametrize("body", [
    _envelope("This booking has already been cancelled."),
    {"statusCode": 400, "message": "This booking has already been cancelled."},
], ids=["envelope", "raw"])
async def test_cancel_of_an_already_cancelled_booking_is_success(body: dict) -> None:  # type: ignore[type-arg]
    await client(_answer(400, body)).cancel_booking("abc", "Grund")


async def test_cancel_success_needs_the_booking_cancelled() -> None:
    await client(_answer(200, {"status": "success", "data": dict(BOOKING, status="cancelled")})).cancel_booking(
        "abc", "Grund")
    with pytest.raises(CalcomOutcomeUnknown):
        await client(_answer(200, {"status": "success", "data": BOOKING})).cancel_booking("abc", "Grund")


@pytest.mark.parametrize(("status", "body", "expected"), [
    (400, _envelope("Cannot cancel a booking that has already ended"), CalcomCancelRefused),
    (400, {"statusCode": 400, "message": "Cannot cancel a booking that has already ended"}, CalcomCancelRefused),
    (400, _envelope("Cancellation reason is required when you are the host"), CalcomCancelRefused),
    (400, _envelope("This event type does not allow cancellations"), CalcomCancelRefused),
    (500, {"status": "error", "error": {"code": "INTERNAL_SERVER_ERROR", "message": "Internal server error."}},
     CalcomOutcomeUnknown),
    (400, {"unexpected": True}, CalcomOutcomeUnknown),
    (200, {"data": "cancelled"}, CalcomOutcomeUnknown),
], ids=["ended", "ended-raw", "reason", "disabled", "500", "unknown-4xx", "unknown-200"])
async def test_cancel_refusals_are_not_success(status: int, body: dict, expected: type[Exception]) -> None:  # type: ignore[type-arg]
    with pytest.raises(expected):
        await client(_answer(status, body)).cancel_booking("abc", "Grund")


# The same classes over real sockets, through the transport production uses: its own errors, not
# httpx's, are what a broken Cal.com produces.

async def _serve(respond) -> tuple[asyncio.Server, str]:  # type: ignore[no-untyped-def]
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await respond(writer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def _create_over_socket(url: str, timeout_s: float = 1.0) -> None:
    calcom = CalcomClient(url, "cal_test", timeout_s=timeout_s)
    try:
        await create(calcom)
    finally:
        await calcom.aclose()


async def test_refused_connection_over_a_socket_is_unreachable() -> None:
    server, url = await _serve(lambda writer: asyncio.sleep(0))
    server.close()
    await server.wait_closed()
    with pytest.raises(CalcomUnreachable):
        await _create_over_socket(url)


@pytest.mark.parametrize("reply", [b"", b"HTTP/1.1 201 Created\r\nContent-Length: 50\r\n\r\n{\"status\"",
                                   b"NOT HTTP AT ALL\r\n\r\n"], ids=["closed", "cut-body", "garbage"])
async def test_broken_reply_over_a_socket_is_an_unknown_outcome(reply: bytes) -> None:
    async def respond(writer: asyncio.StreamWriter) -> None:
        writer.write(reply)
        await writer.drain()

    server, url = await _serve(respond)
    async with server:
        with pytest.raises(CalcomOutcomeUnknown):
            await _create_over_socket(url)


async def test_hang_over_a_socket_is_cut_at_the_deadline() -> None:
    server, url = await _serve(lambda writer: asyncio.sleep(5))
    async with server:
        started = asyncio.get_running_loop().time()
        with pytest.raises(CalcomOutcomeUnknown):
            await _create_over_socket(url, timeout_s=0.3)
        assert asyncio.get_running_loop().time() - started < 1.0


async def test_pooled_connection_is_reused_over_a_socket() -> None:
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        body = b'{"status": "success", "data": []}'
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        calcom = CalcomClient(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", "cal_test")
        try:
            for _ in range(5):
                assert await calcom.event_types() == []
        finally:
            await calcom.aclose()
    assert connections == 1
