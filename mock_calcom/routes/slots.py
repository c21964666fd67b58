"""GET /v2/slots (cal-api-version 2024-09-04)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mock_calcom.calcom_shapes import slot_time, success
from mock_calcom.deps import SLOTS_VERSIONS, calcom_guard
from mock_calcom.errors import CalcomError, describe_validation_error
from mock_calcom.input_rules import SLOTS_QUERY, problems
from mock_calcom.scheduling import within_bounds

router = APIRouter()


class SlotsQuery(BaseModel):
    """GetAvailableSlotsInput_2024_09_04 (by event type id)."""

    model_config = ConfigDict(extra="ignore")

    eventTypeId: int
    start: str
    end: str
    timeZone: str = "UTC"
    duration: int | None = Field(default=None, gt=0)
    format: Literal["range", "time"] | None = None

    @field_validator("format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


def parse_range_bound(value: str, name: str, *, end_of_day: bool) -> datetime:
    """Cal.com's slot range: an ISO instant (UTC when no offset), or a bare date meaning its start/end."""
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(
                day, datetime.max.time() if end_of_day else datetime.min.time()
            )
        else:
            moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CalcomError(400, f"{name} must be a valid ISO 8601 date string") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.get("/v2/slots")
async def get_slots(request: Request) -> JSONResponse:
    state = calcom_guard(request, SLOTS_VERSIONS)
    text = problems(SLOTS_QUERY, dict(request.query_params))
    if text:
        raise CalcomError(400, text)
    try:
        query = SlotsQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise CalcomError(400, describe_validation_error(exc)) from exc
    event_type = state.catalog.event_type(query.eventTypeId)
    if event_type is None:
        raise CalcomError(404, "Event Type not found")
    try:
        ZoneInfo(query.timeZone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalcomError(400, "timeZone must be a valid IANA time zone") from exc
    range_start = parse_range_bound(query.start, "start", end_of_day=False)
    now = state.now()
    # Cal.com clamps the end to one year ahead to bound the work.
    range_end = min(parse_range_bound(query.end, "end", end_of_day=True), now + timedelta(days=366))
    length = query.duration or event_type.length_in_minutes
    stale = "stale_slots" in request.scope.get("state", {}).get("mock_flags", ())
    zone = state.catalog.zone
    buffers = (event_type.before_event_buffer, event_type.after_event_buffer)
    data: dict[str, list[dict[str, Any]]] = {}
    day = range_start.astimezone(zone).date()
    last_day = range_end.astimezone(zone).date()
    earliest = max(range_start, now)
    while day <= last_day:
        for slot in state.availability.free_starts(
            event_type.host, day, length, buffers=buffers, ignore_bookings=stale
        ):
            # Minimum notice and booking window hide slots as they make a create out of bounds.
            if earliest <= slot <= range_end and within_bounds(event_type, slot, now):
                day_key, stamp = slot_time(slot, query.timeZone)
                item = {"start": stamp}
                if query.format == "range":
                    item["end"] = slot_time(slot + timedelta(minutes=length), query.timeZone)[1]
                data.setdefault(day_key, []).append(item)
        day += timedelta(days=1)
    return JSONResponse(success(data))
