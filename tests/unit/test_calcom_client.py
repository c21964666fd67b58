"""How the client classifies Cal.com's answers: the SAGA's decisions hang on these classes."""

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from booking_core.adapters.calcom import (
    CalcomClient,
    CalcomOutcomeUnknown,
    CalcomRejected,
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
