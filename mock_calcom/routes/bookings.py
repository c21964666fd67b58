"""/v2/bookings: create, list, get, cancel, reschedule (cal-api-version 2024-08-13 and 2026-02-25)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from mock_calcom.calcom_shapes import booking_output, pagination, success
from mock_calcom.catalog import Host
from mock_calcom.deps import BOOKINGS_VERSIONS, calcom_guard, calcom_user
from mock_calcom.errors import (
    MSG_CONTACT,
    MSG_SINGLE_LENGTH,
    CalcomError,
)
from mock_calcom.input_rules import (
    CANCEL_BOOKING,
    CREATE_BOOKING,
    RESCHEDULE_BOOKING,
    Shape,
    problems,
)
from mock_calcom.ledger import Booking
from mock_calcom.scheduling import cancel_booking, create_booking, reschedule_booking
from mock_calcom.state import MockState

router = APIRouter()

LIST_STATUSES = ("upcoming", "recurring", "past", "cancelled", "unconfirmed")
M = TypeVar("M", bound=BaseModel)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class AttendeeIn(BaseModel):
    # Typed access to what input_rules already checked (Cal.com's whitelist and constraints).
    model_config = ConfigDict(extra="ignore")

    name: str
    email: str | None = None
    phoneNumber: str | None = None
    timeZone: str
    language: str | None = None


class CreateBookingIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start: datetime
    eventTypeId: int
    attendee: AttendeeIn
    lengthInMinutes: int | None = None
    metadata: dict[str, Any] = {}
    guests: list[str] = []


class RescheduleIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    start: datetime
    reschedulingReason: str | None = None


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cancellationReason: str | None = None


async def _body(request: Request, shape: Shape, model: type[M]) -> M:
    """Cal.com's pipe: the body must be an object; unknown properties and broken fields are a 400."""
    raw = await request.body()
    try:
        value = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise CalcomError(400, "Body should be an object") from exc
    if not isinstance(value, dict):
        raise CalcomError(400, "Body should be an object")
    text = problems(shape, value)
    if text:
        raise CalcomError(400, text)
    return model.model_validate(value)


def _visible(booking: Booking, user: Host | None) -> bool:
    """What a key sees in GET /v2/bookings: its owner's bookings as organizer or attendee, and every
    booking of a team it is ADMIN or OWNER of (packages/trpc/server/routers/viewer/bookings/get.handler.ts).
    None is the salon account's key, owner of the team all event types belong to."""
    if user is None or user.team_admin:
        return True
    return booking.host.id == user.id or booking.attendee["email"].lower() == user.email.lower()


def _find(state: MockState, uid: str, message: str) -> Booking:
    booking = state.ledger.get(uid)
    if booking is None:
        raise CalcomError(404, message.format(uid=uid))
    return booking


@router.post("/v2/bookings")
async def post_booking(request: Request) -> JSONResponse:
    state = calcom_guard(request, BOOKINGS_VERSIONS)
    body = await _body(request, CREATE_BOOKING, CreateBookingIn)
    event_type = state.catalog.event_type(body.eventTypeId)
    if event_type is None:
        # apps/api/v2/src/ee/bookings/2024-08-13/services/errors.service.ts
        raise CalcomError(404, f"Event type with id {body.eventTypeId} not found.")
    length = event_type.length_in_minutes
    if body.lengthInMinutes is not None:
        # input.service.ts validateBookingLengthInMinutes: any value, even the default length, is
        # refused unless the event type has several lengths (metadata.multipleDuration).
        if not event_type.length_options:
            raise CalcomError(400, MSG_SINGLE_LENGTH)
        if body.lengthInMinutes not in event_type.length_options:
            raise CalcomError(
                400,
                "Provided 'lengthInMinutes' is not one of the possible lengths for the event type. "
                f"The possible lengths are: {', '.join(str(v) for v in event_type.length_options)}",
            )
        length = body.lengthInMinutes
    if not body.attendee.email and not body.attendee.phoneNumber:
        raise CalcomError(400, MSG_CONTACT)
    attendee = body.attendee.model_dump()
    if not attendee["email"]:
        # Cal.com books phone-only attendees under a placeholder address on its SMS domain.
        attendee["email"] = (
            f"{''.join(c for c in attendee['phoneNumber'] if c.isdigit())}@sms.cal.com"
        )
    booking = await create_booking(
        state,
        event_type,
        _utc(body.start),
        length,
        attendee,
        body.metadata,
        body.guests,
    )
    return JSONResponse(success(booking_output(booking, state.catalog)), status_code=201)


@router.get("/v2/bookings")
async def list_bookings(request: Request) -> JSONResponse:
    state = calcom_guard(request, BOOKINGS_VERSIONS, permissions_guard=True)
    user = calcom_user(request)
    query = request.query_params
    statuses = [s.strip() for s in query.get("status", "").split(",") if s.strip()]
    if any(s not in LIST_STATUSES for s in statuses):
        raise CalcomError(
            400, "Invalid status. Allowed are upcoming, recurring, past, cancelled, unconfirmed"
        )
    try:
        take = int(query.get("take", 100))
        skip = int(query.get("skip", 0))
        event_type_ids = {
            int(v)
            for v in (query.get("eventTypeIds", "") + "," + query.get("eventTypeId", "")).split(",")
            if v.strip()
        }
        after_start = (
            _utc(datetime.fromisoformat(query["afterStart"])) if "afterStart" in query else None
        )
        before_end = (
            _utc(datetime.fromisoformat(query["beforeEnd"])) if "beforeEnd" in query else None
        )
    except ValueError as exc:
        raise CalcomError(400, f"Invalid query: {exc}") from exc
    if not 1 <= take <= 250 or skip < 0:
        raise CalcomError(400, "take must be between 1 and 250, skip must not be negative")
    now = state.now()
    email = query.get("attendeeEmail", "").strip().replace(" ", "+").lower()
    name = query.get("attendeeName", "").strip().lower()

    def wanted(b: Booking) -> bool:
        if not _visible(b, user):
            return False
        if statuses and not any(_has_status(b, s, now) for s in statuses):
            return False
        if email and b.attendee["email"].lower() != email:
            return False
        if name and name not in b.attendee["name"].lower():
            return False
        if event_type_ids and b.event_type.id not in event_type_ids:
            return False
        if "bookingUid" in query and b.uid != query["bookingUid"]:
            return False
        if after_start and b.start < after_start:
            return False
        return not (before_end and b.end > before_end)

    found = sorted((b for b in state.ledger if wanted(b)), key=_sort_key(query))
    page = found[skip : skip + take]
    return JSONResponse(
        success(
            [booking_output(b, state.catalog) for b in page],
            pagination=pagination(skip, take, len(found)),
        )
    )


def _has_status(booking: Booking, status: str, now: datetime) -> bool:
    if status == "cancelled":
        return booking.status in ("cancelled", "rejected")
    if status == "upcoming":
        return booking.active and booking.end >= now
    if status == "past":
        return booking.status != "cancelled" and booking.end < now
    return False  # recurring and unconfirmed bookings are never made by this mock


def _sort_key(query: Any) -> Any:
    for param, attribute in (
        ("sortStart", "start"),
        ("sortEnd", "end"),
        ("sortCreated", "created_at"),
    ):
        if param in query:
            sign = -1 if query[param] == "desc" else 1
            return lambda b, a=attribute, s=sign: s * getattr(b, a).timestamp()
    return lambda b: (b.start, b.id)


@router.get("/v2/bookings/{uid}")
async def get_booking(uid: str, request: Request) -> JSONResponse:
    state = calcom_guard(request, BOOKINGS_VERSIONS)
    booking = _find(state, uid, "Booking with uid={uid} was not found in the database")
    return JSONResponse(success(booking_output(booking, state.catalog)))


@router.post("/v2/bookings/{uid}/cancel")
async def post_cancel(uid: str, request: Request) -> JSONResponse:
    state = calcom_guard(request, BOOKINGS_VERSIONS)
    body = await _body(request, CANCEL_BOOKING, CancelIn)
    booking = _find(state, uid, "Booking with uid={uid} not found")
    user = calcom_user(request)
    # handleCancelBooking: the organizer cancelling their own booking must give a reason.
    by_host = user is not None and booking.host.id == user.id
    booking = cancel_booking(state, booking, body.cancellationReason, by_host=by_host)
    return JSONResponse(success(booking_output(booking, state.catalog)))


@router.post("/v2/bookings/{uid}/reschedule")
async def post_reschedule(uid: str, request: Request) -> JSONResponse:
    state = calcom_guard(request, BOOKINGS_VERSIONS)
    body = await _body(request, RESCHEDULE_BOOKING, RescheduleIn)
    booking = _find(state, uid, "Booking with uid={uid} not found")
    new = await reschedule_booking(state, booking, _utc(body.start), body.reschedulingReason)
    return JSONResponse(success(booking_output(new, state.catalog)), status_code=201)
