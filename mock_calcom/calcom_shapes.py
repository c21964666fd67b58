"""Cal.com API v2 output objects, field for field.

Sources: packages/platform/types/bookings/2024-08-13/outputs/booking.output.ts (BookingOutput_2024_08_13),
event-types_2024_06_14/outputs/event-type.output.ts (EventTypeOutput_2024_06_14),
slots-2024-09-04/outputs/slots.output.ts and apps/api/v2/src/lib/pagination/pagination.ts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from mock_calcom.catalog import Catalog, EventType, Host
from mock_calcom.errors import utc_timestamp
from mock_calcom.ledger import Booking


def success(data: Any, **extra: Any) -> dict[str, Any]:
    return {"status": "success", "data": data, **extra}


def booking_output(booking: Booking, catalog: Catalog) -> dict[str, Any]:
    host = booking.host
    attendee = booking.attendee
    out: dict[str, Any] = {
        "id": booking.id,
        "uid": booking.uid,
        "title": f"{booking.event_type.title} between {host.name} and {attendee['name']}",
        "description": "",
        "hosts": [_booking_host(host, catalog)],
        "status": booking.status,
    }
    optional = {
        "cancellationReason": booking.cancellation_reason,
        "cancelledByEmail": booking.cancelled_by_email,
        "reschedulingReason": booking.rescheduling_reason,
        "rescheduledFromUid": booking.rescheduled_from_uid,
        "rescheduledToUid": booking.rescheduled_to_uid,
    }
    out.update({key: value for key, value in optional.items() if value is not None})
    out.update(
        {
            "start": utc_timestamp(booking.start),
            "end": utc_timestamp(booking.end),
            "duration": int((booking.end - booking.start).total_seconds() // 60),
            "eventTypeId": booking.event_type.id,
            "eventType": {"id": booking.event_type.id, "slug": booking.event_type.slug},
            "location": catalog.address,
            "absentHost": False,
            "createdAt": utc_timestamp(booking.created_at),
            "updatedAt": utc_timestamp(booking.updated_at) if booking.updated_at else None,
            "metadata": dict(booking.metadata),
            "icsUid": f"{booking.uid}@Cal.com",
            "attendees": [_attendee(attendee)],
            "guests": list(booking.guests),
            "bookingFieldsResponses": _responses(attendee, booking.guests),
        }
    )
    return out


def _booking_host(host: Host, catalog: Catalog) -> dict[str, Any]:
    return {
        "id": host.id,
        "name": host.name,
        "email": host.email,
        "displayEmail": host.email,
        "username": host.username,
        "timeZone": catalog.time_zone,
    }


def _attendee(attendee: dict[str, Any]) -> dict[str, Any]:
    out = {
        "name": attendee["name"],
        "email": attendee["email"],
        "displayEmail": attendee["email"],
        "timeZone": attendee["timeZone"],
        "language": attendee.get("language") or "en",
        "absent": False,
    }
    if attendee.get("phoneNumber"):
        out["phoneNumber"] = attendee["phoneNumber"]
    return out


def _responses(attendee: dict[str, Any], guests: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": attendee["name"],
        "email": attendee["email"],
        "guests": list(guests),
    }
    if attendee.get("phoneNumber"):
        out["attendeePhoneNumber"] = attendee["phoneNumber"]
    return out


def event_type_output(event_type: EventType, catalog: Catalog) -> dict[str, Any]:
    host = catalog.host(event_type.host)
    out = {
        "id": event_type.id,
        "lengthInMinutes": event_type.length_in_minutes,
        "title": event_type.title,
        "slug": event_type.slug,
        "description": event_type.description,
        "locations": [{"type": "address", "address": catalog.address, "public": True}],
        "bookingFields": [
            {"type": "name", "slug": "name", "isDefault": True, "required": True},
            {"type": "email", "slug": "email", "isDefault": True, "required": True},
            {
                "type": "phone",
                "slug": "attendeePhoneNumber",
                "isDefault": True,
                "required": False,
                "hidden": False,
            },
        ],
        "disableGuests": True,
        "slotInterval": catalog.slot_interval_minutes,
        "minimumBookingNotice": event_type.minimum_booking_notice,
        "beforeEventBuffer": event_type.before_event_buffer,
        "afterEventBuffer": event_type.after_event_buffer,
        "recurrence": None,
        "metadata": {},
        "price": event_type.price_cents,
        "currency": catalog.currency,
        "lockTimeZoneToggleOnBookingPage": False,
        "seatsPerTimeSlot": None,
        "forwardParamsSuccessRedirect": None,
        "successRedirectUrl": None,
        "isInstantEvent": False,
        "seatsShowAvailabilityCount": None,
        "scheduleId": None,
        "hidden": False,
        "bookingRequiresAuthentication": False,
        "ownerId": host.id,
        "users": [
            {
                "id": host.id,
                "name": host.name,
                "username": host.username,
                "avatarUrl": None,
                "weekStart": "Monday",
                "brandColor": None,
                "darkBrandColor": None,
                "metadata": {},
            }
        ],
        # The team event type's host list (TeamEventTypeResponseHost), so a client can read the host
        # the same way whether the salon's services are personal or team event types.
        "hosts": [
            {
                "userId": host.id,
                "mandatory": False,
                "priority": "medium",
                "name": host.name,
                "username": host.username,
                "avatarUrl": None,
            }
        ],
    }
    # event-type.output.ts: lengthInMinutesOptions only for several lengths; bookingWindow and
    # disableCancelling only when set.
    if event_type.length_options:
        out["lengthInMinutesOptions"] = list(event_type.length_options)
    if event_type.booking_window_days is not None:
        out["bookingWindow"] = {
            "type": "calendarDays",
            "value": event_type.booking_window_days,
            "rolling": False,
        }
    if event_type.disable_cancelling:
        out["disableCancelling"] = True
    return out


def pagination(skip: int, take: int, total: int) -> dict[str, Any]:
    safe_skip = max(0, min(skip, total))
    total_pages = -(-total // take) if take else 0
    current_page = 0 if total_pages == 0 else max(1, min(safe_skip // take + 1, total_pages))
    return {
        "itemsReturned": max(0, min(total - safe_skip, take)),
        "totalItems": total,
        "itemsPerPage": take,
        "remainingItems": max(0, min(total - (safe_skip + take), total)),
        "currentPage": current_page,
        "totalPages": total_pages,
        "hasNextPage": safe_skip + take < total,
        "hasPreviousPage": safe_skip > 0,
    }


_UTC_NAMES = frozenset({"UTC", "GMT", "ETC/UTC"})


@lru_cache(maxsize=65536)
def slot_time(moment: datetime, zone_name: str) -> tuple[str, str]:
    """(date key, start) of a slot as Cal.com prints it: Luxon's `toISO()`, milliseconds, Z for UTC."""
    if zone_name.upper() in _UTC_NAMES:
        return moment.astimezone(UTC).date().isoformat(), utc_timestamp(moment)
    local = moment.astimezone(ZoneInfo(zone_name))
    stamp = (
        local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + _offset(local)
    )
    return local.date().isoformat(), stamp


def _offset(local: datetime) -> str:
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
