"""Cal.com API v2 client: pooled httpx, hard deadlines, failures classified by what they mean.

Every method takes a `timeout_s`: httpx timeouts are per phase (a dribbling body resets the read
timeout), so each request also runs under one asyncio deadline.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import httpx
import phonenumbers
import structlog
from httpx_aiohttp import AiohttpTransport

log = structlog.get_logger("callsim")

SLOTS_VERSION = "2024-09-04"
BOOKINGS_VERSION = "2024-08-13"
EVENT_TYPES_VERSION = "2024-06-14"


class CalcomError(Exception):
    """Base: Cal.com did not give a usable answer."""


class CalcomUnreachable(CalcomError):
    """The request never reached Cal.com (connection refused): nothing happened there."""


class CalcomOutcomeUnknown(CalcomError):
    """Sent, but no trustworthy answer (timeout, reset, 5xx, garbage): it may have happened."""


class CalcomRejected(CalcomError):
    """Cal.com answered with a definite refusal (4xx)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class CalcomSlotTaken(CalcomRejected):
    pass


class CalcomSlotNotPossible(CalcomSlotTaken):
    """The start is outside what the event type allows (minimum notice, booking window, the past):
    nothing was booked, and other times may well be free."""


class CalcomCancelRefused(CalcomRejected):
    """Cal.com refused the cancel (already ended, cancelling disabled, reason required): the booking
    stays active, so this is no success for a compensation."""


@dataclass(frozen=True)
class CalcomBooking:
    uid: str
    status: str
    start: str
    end: str
    event_type_id: int | None
    metadata: dict[str, Any]
    raw: dict[str, Any]

    @property
    def active(self) -> bool:
        return self.status in ("accepted", "pending", "awaiting_host")

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> CalcomBooking:
        if not isinstance(data, dict) or not isinstance(data.get("uid"), str):
            raise CalcomOutcomeUnknown("booking without uid")
        return cls(
            uid=data["uid"],
            status=str(data.get("status", "")),
            start=str(data.get("start", "")),
            end=str(data.get("end", "")),
            event_type_id=data.get("eventTypeId"),
            metadata=data.get("metadata") or {},
            raw=data,
        )


def _never_connected(exc: Exception) -> bool:
    """Refused before anything was sent. The aiohttp transport reports every connection-level
    failure as httpx.ConnectTimeout (and lets some of its own errors through unwrapped); the
    aiohttp error says which it was."""
    cause = exc if isinstance(exc, aiohttp.ClientError) else exc.__cause__
    if isinstance(cause, aiohttp.ClientError):
        return isinstance(cause, aiohttp.ClientConnectorError)
    return isinstance(exc, httpx.ConnectError)


def _is_slot_conflict(status: int, message: str) -> bool:
    text = message.lower()
    return status == 409 or "already has booking" in text or "not available" in text


# apps/api/v2/src/ee/bookings/2024-08-13/services/errors.service.ts: booking_time_out_of_bounds_error
# and the past-start refusal.
_NOT_POSSIBLE = ("can't be booked at the \"start\" time", "attempting to book a meeting in the past")
# packages/features/bookings/lib/handleCancelBooking.ts: the only refusal that means "already done".
_ALREADY_CANCELLED = "this booking has already been cancelled"


def _error_message(body: Any) -> str | None:
    """The message of a Cal.com error: the API v2 envelope, or the bare {statusCode, message} that
    errors from Cal.com's booking engine can come back as. None: not a Cal.com error body."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    message = body.get("message")
    if isinstance(message, str):
        return message
    if isinstance(message, list):  # Nest's ValidationPipe without a custom pipe
        return ", ".join(str(item) for item in message)
    return None


def pooled_transport() -> httpx.AsyncBaseTransport:
    """httpx's API on aiohttp's connection pool: httpcore's pool scans every pooled connection on
    each request (quadratic in the pool size), which cost the core half its CPU at 50 callers."""
    # Idle connections go before a server's usual 5 s keep-alive closes them under a request.
    return AiohttpTransport(limits=httpx.Limits(max_connections=100, keepalive_expiry=4.0))


@dataclass(frozen=True)
class BookingPage:
    """One page of a listing, or the error that kept it from being read (`bookings` is then empty)."""

    skip: int
    bookings: list[CalcomBooking]
    error: str | None = None


# A replayed call carries the recording's pseudonym of a caller's number (replay/filters.py):
# it stands for a number that was sent when recorded, and only a cassette ever receives it.
_PSEUDONYM = "+4900"


def _bookable_attendee(attendee: dict[str, Any]) -> dict[str, Any]:
    """Cal.com refuses the whole booking for a phone number libphonenumber calls invalid
    (create-booking.input.ts: isValidPhoneNumber, international format only). A caller's number that
    fails it is left out when an email identifies the attendee; the appointment keeps the number."""
    phone = attendee.get("phoneNumber")
    if not phone or not attendee.get("email") or str(phone).startswith(_PSEUDONYM):
        return attendee
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(str(phone), None))
    except phonenumbers.NumberParseException:
        valid = False
    if valid:
        return attendee
    log.info("attendee phone left out for Cal.com", reason="not a valid international number")
    return {key: value for key, value in attendee.items() if key != "phoneNumber"}


def _instant(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class CalcomClient:
    def __init__(self, base_url: str, api_key: str | None, timeout_s: float = 1.5,
                 transport: httpx.AsyncBaseTransport | None = None, team_id: int | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout_s = timeout_s
        # A salon set up as a Cal.com team: its services are team event types, which
        # GET /v2/event-types (the key owner's own event types) does not list.
        self.team_id = team_id
        # Event type id -> its possible lengths, learnt from the event type list.
        self._length_options: dict[int, tuple[int, ...]] = {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 1.0)),
            transport=transport or pooled_transport(),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, version: str, timeout_s: float | None,
                       **kwargs: Any) -> Any:
        budget = self.timeout_s if timeout_s is None else min(timeout_s, self.timeout_s)
        if budget <= 0:
            raise CalcomOutcomeUnknown("no time left for Cal.com")
        try:
            async with asyncio.timeout(budget):
                response = await self._http.request(
                    method, path, headers={"cal-api-version": version},
                    timeout=httpx.Timeout(budget, connect=min(budget, 1.0)), **kwargs)
        except (httpx.HTTPError, aiohttp.ClientError) as exc:
            if _never_connected(exc):
                raise CalcomUnreachable(str(exc) or "connection refused") from exc
            if isinstance(exc, httpx.TimeoutException) and not isinstance(exc.__cause__, aiohttp.ClientError):
                raise CalcomOutcomeUnknown(f"timeout after {budget:.2f}s") from exc
            # reset, empty reply, protocol garbage: sent, so it may have happened
            raise CalcomOutcomeUnknown(type(exc.__cause__ or exc).__name__) from exc
        except TimeoutError as exc:
            raise CalcomOutcomeUnknown(f"timeout after {budget:.2f}s") from exc
        return self._payload(response)

    @staticmethod
    def _payload(response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500 or response.status_code == 429:
            raise CalcomOutcomeUnknown(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            message = _error_message(body)
            if message is None:
                # Not Cal.com speaking (a proxy's page, garbage): nothing says what happened.
                raise CalcomOutcomeUnknown(f"HTTP {response.status_code} without a Cal.com error body")
            if any(marker in message.lower() for marker in _NOT_POSSIBLE):
                raise CalcomSlotNotPossible(response.status_code, message)
            if _is_slot_conflict(response.status_code, message):
                raise CalcomSlotTaken(response.status_code, message)
            raise CalcomRejected(response.status_code, message)
        if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
            raise CalcomOutcomeUnknown(f"malformed body (HTTP {response.status_code})")
        return body

    async def event_types(self, timeout_s: float | None = None) -> list[dict[str, Any]]:
        path = f"/v2/teams/{self.team_id}/event-types" if self.team_id is not None else "/v2/event-types"
        body = await self._request("GET", path, EVENT_TYPES_VERSION, timeout_s)
        data = body["data"]
        if isinstance(data, dict):  # some versions wrap the list
            data = data.get("eventTypes") or data.get("eventTypeGroups") or []
        found = [item for item in data if isinstance(item, dict)]
        for item in found:
            self._remember_lengths(item)
        return found

    def _remember_lengths(self, event_type: dict[str, Any]) -> None:
        # EventTypeOutput_2024_06_14.lengthInMinutesOptions: present only for several lengths.
        options = event_type.get("lengthInMinutesOptions")
        if isinstance(event_type.get("id"), int) and isinstance(options, list):
            self._length_options[event_type["id"]] = tuple(v for v in options if isinstance(v, int))

    async def slots(self, event_type_id: int, start: datetime, end: datetime, time_zone: str,
                    timeout_s: float | None = None) -> list[datetime]:
        body = await self._request(
            "GET", "/v2/slots", SLOTS_VERSION, timeout_s,
            params={"eventTypeId": event_type_id, "start": start.isoformat(), "end": end.isoformat(),
                    "timeZone": time_zone, "format": "time"},
        )
        found: list[datetime] = []
        data = body["data"]
        if not isinstance(data, dict):
            raise CalcomOutcomeUnknown("slots: data is not a map")
        for day_slots in data.values():
            for slot in day_slots if isinstance(day_slots, list) else []:
                value = slot.get("start") if isinstance(slot, dict) else slot
                try:
                    found.append(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
                except ValueError as exc:
                    raise CalcomOutcomeUnknown(f"slots: bad time {value!r}") from exc
        return sorted(found)

    async def create_booking(self, *, event_type_id: int, start: datetime, length_min: int | None,
                             attendee: dict[str, Any], metadata: dict[str, str],
                             timeout_s: float | None = None) -> CalcomBooking:
        """Cal.com books the event type's own length. `lengthInMinutes` is sent only for an event type
        known to have several lengths: Cal.com refuses it on any other, even when it equals the
        length (apps/api/v2/src/ee/bookings/2024-08-13/services/input.service.ts,
        validateBookingLengthInMinutes)."""
        payload: dict[str, Any] = {"start": start.isoformat().replace("+00:00", "Z"),
                                   "eventTypeId": event_type_id, "attendee": _bookable_attendee(attendee),
                                   "metadata": metadata}
        if length_min is not None and len(self._length_options.get(event_type_id, ())) > 1:
            payload["lengthInMinutes"] = length_min
        body = await self._request("POST", "/v2/bookings", BOOKINGS_VERSION, timeout_s, json=payload)
        booking = CalcomBooking.from_api(body["data"])
        if _instant(booking.start) != _instant(payload["start"]):
            # Not the booking we asked for: whatever Cal.com did, the lookup by our id decides.
            raise CalcomOutcomeUnknown(f"created booking starts at {booking.start!r}, not {payload['start']}")
        return booking

    async def find_by_metadata(self, key: str, value: str, *, event_type_id: int | None,
                               after_start: datetime, before_end: datetime,
                               timeout_s: float | None = None) -> CalcomBooking | None:
        """Cal.com has no idempotency key: our own id in `metadata` is how a lost booking is found."""
        for booking in await self.list_bookings(event_type_id=event_type_id, after_start=after_start,
                                                before_end=before_end, timeout_s=timeout_s):
            if str(booking.metadata.get(key, "")) == value:
                return booking
        return None

    async def list_bookings(self, *, event_type_id: int | None = None,
                            after_start: datetime | None = None, before_end: datetime | None = None,
                            status: str | None = None, timeout_s: float | None = None,
                            page_size: int = 100, max_pages: int = 50) -> list[CalcomBooking]:
        params: dict[str, Any] = {"take": page_size}
        if event_type_id is not None:
            params["eventTypeId"] = event_type_id
        if after_start is not None:
            params["afterStart"] = after_start.isoformat()
        if before_end is not None:
            params["beforeEnd"] = before_end.isoformat()
        if status:
            params["status"] = status
        found: list[CalcomBooking] = []
        for page in range(max_pages):
            params["skip"] = page * page_size
            body = await self._request("GET", "/v2/bookings", BOOKINGS_VERSION, timeout_s, params=params)
            data = body["data"]
            if not isinstance(data, list):
                raise CalcomOutcomeUnknown("bookings: data is not a list")
            found.extend(CalcomBooking.from_api(item) for item in data)
            pagination = body.get("pagination") or {}
            if not pagination.get("hasNextPage") or not data:
                break
        return found

    async def get_booking(self, uid: str, timeout_s: float | None = None) -> CalcomBooking:
        body = await self._request("GET", f"/v2/bookings/{uid}", BOOKINGS_VERSION, timeout_s)
        return CalcomBooking.from_api(body["data"])

    async def cancel_booking(self, uid: str, reason: str, timeout_s: float | None = None) -> None:
        """Returns only when the booking is cancelled: a 2xx carrying it as cancelled, or Cal.com's
        explicit "already been cancelled". Every other answer raises, so the caller keeps the
        booking for a retry or the reconciler instead of counting it as compensated."""
        try:
            body = await self._request("POST", f"/v2/bookings/{uid}/cancel", BOOKINGS_VERSION, timeout_s,
                                       json={"cancellationReason": reason})
        except CalcomRejected as exc:
            if _ALREADY_CANCELLED in exc.message.lower():
                return
            if exc.status == 404:
                raise
            raise CalcomCancelRefused(exc.status, exc.message) from exc
        data = body["data"]
        cancelled = [item for item in (data if isinstance(data, list) else [data]) if isinstance(item, dict)]
        if not cancelled or any(item.get("status") != "cancelled" for item in cancelled):
            raise CalcomOutcomeUnknown("cancel answered without a cancelled booking")

    def patient(self, timeout_s: float) -> CalcomClient:
        """The same connection pool with a higher ceiling, for background work no caller waits on
        (the reconciler, rechecks of unknown outcomes): every request is capped at the client's
        timeout, which the voice path keeps at 1.5 s."""
        sibling = copy.copy(self)
        sibling.timeout_s = timeout_s
        return sibling

    async def booking_pages(self, *, status: str, page_size: int = 100, attempts: int = 2,
                            max_pages: int = 10_000, give_up_after: int = 3,
                            timeout_s: float | None = None) -> AsyncIterator[BookingPage]:
        """Every page of the listing with a status filter; a page that keeps failing is yielded as
        an error and the walk goes on, so one bad page does not hide the rest. Stops after
        `give_up_after` failed pages in a row (Cal.com is down) and says so in the last page."""
        failed_in_a_row = 0
        for page in range(max_pages):
            skip = page * page_size
            params = {"status": status, "take": page_size, "skip": skip}
            error = ""
            for _ in range(attempts):
                try:
                    body = await self._request("GET", "/v2/bookings", BOOKINGS_VERSION, timeout_s,
                                               params=params)
                    data = body["data"]
                    if not isinstance(data, list):
                        raise CalcomOutcomeUnknown("bookings: data is not a list")
                    bookings = [CalcomBooking.from_api(item) for item in data]
                    break
                except CalcomError as exc:
                    error = str(exc) or type(exc).__name__
            else:
                failed_in_a_row += 1
                if failed_in_a_row >= give_up_after:
                    yield BookingPage(skip, [], f"page at skip={skip}: {error}; gave up after "
                                                f"{failed_in_a_row} failed pages in a row")
                    return
                yield BookingPage(skip, [], f"page at skip={skip}: {error}")
                continue
            failed_in_a_row = 0
            yield BookingPage(skip, bookings)
            if not (body.get("pagination") or {}).get("hasNextPage") or not data:
                return
        yield BookingPage(max_pages * page_size, [], f"listing truncated after {max_pages} pages")

    async def reschedule_booking(self, uid: str, start: datetime, reason: str,
                                 timeout_s: float | None = None) -> CalcomBooking:
        """Cal.com moves a booking in one step: the new booking (new uid, `rescheduledFromUid`, the
        old one's metadata copied) is created, and the old one cancelled, ignoring the old booking
        in the availability check. Body per cal.com
        packages/platform/types/bookings/2024-08-13/inputs/reschedule-booking.input.ts
        (start, reschedulingReason); metadata copied in
        apps/api/v2/src/ee/bookings/2024-08-13/services/input.service.ts
        (transformInputRescheduleBooking)."""
        body = await self._request(
            "POST", f"/v2/bookings/{uid}/reschedule", BOOKINGS_VERSION, timeout_s,
            json={"start": start.isoformat().replace("+00:00", "Z"), "reschedulingReason": reason})
        return CalcomBooking.from_api(body["data"])
