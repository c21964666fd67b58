"""Cal.com's input validation: class-validator with `whitelist` + `forbidNonWhitelisted`, its texts.

The booking pipes (packages/platform/types/bookings/2024-08-13/inputs/create-booking-input.pipe.ts,
cancel-booking-input.pipe.ts, reschedule-booking-input.pipe.ts) and the slots pipe
(packages/platform/types/slots/slots-2024-09-04/inputs/get-slots-input.pipe.ts) run `validateSync`
and flatten the errors as `"<prop> property is wrong,<constraints> <children>"`, joined by ", ".
Unknown properties are checked first, then the declared ones in declaration order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

# packages/platform/types/bookings/2024-08-13/inputs/language.ts (BookingLanguage), in enum order.
BOOKING_LANGUAGES = (
    "ar", "ca", "de", "es", "eu", "he", "id", "ja", "lv", "pl", "ro", "sr", "th", "vi", "az", "cs",
    "el", "es-419", "fi", "hr", "it", "km", "nl", "pt", "ru", "sv", "tr", "zh-CN", "bg", "da", "en",
    "et", "fr", "hu", "iw", "ko", "no", "pt-BR", "sk", "ta", "uk", "zh-TW", "bn",
)  # fmt: skip
MSG_PHONE = "Invalid phone number format. Please use international format."
MSG_EMAIL = "Invalid email format"
MSG_METADATA = (
    "Metadata must have at most 50 keys, each key up to 40 characters, and string values up to 500 "
    "characters."
)

# validator.js isISO8601 (non-strict), which class-validator's IsDateString uses.
_ISO_8601 = re.compile(
    r"^\d{4}-\d{2}-\d{2}"
    r"([T ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Check = Callable[[str, Any], str | None]


def is_date_string(prop: str, value: Any) -> str | None:
    ok = isinstance(value, str) and bool(_ISO_8601.match(value))
    if ok:
        try:
            datetime.fromisoformat(value.replace(" ", "T"))
        except ValueError:
            ok = False
    return None if ok else f"{prop} must be a valid ISO 8601 date string"


def is_int(prop: str, value: Any) -> str | None:
    ok = isinstance(value, int) and not isinstance(value, bool)
    return None if ok else f"{prop} must be an integer number"


def min_1(prop: str, value: Any) -> str | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 1
    return None if ok else f"{prop} must not be less than 1"


def is_string(prop: str, value: Any) -> str | None:
    return None if isinstance(value, str) else f"{prop} must be a string"


def is_boolean(prop: str, value: Any) -> str | None:
    return None if isinstance(value, bool) else f"{prop} must be a boolean value"


def is_object(prop: str, value: Any) -> str | None:
    return None if isinstance(value, dict) else f"{prop} must be an object"


def is_string_array(prop: str, value: Any) -> str | None:
    if not isinstance(value, list):
        return f"{prop} must be an array, each value in {prop} must be a string"
    if not all(isinstance(item, str) for item in value):
        return f"each value in {prop} must be a string"
    return None


def is_time_zone(prop: str, value: Any) -> str | None:
    try:
        if isinstance(value, str) and value:
            ZoneInfo(value)
            return None
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return f"{prop} must be a valid IANA time-zone"


def is_language(prop: str, value: Any) -> str | None:
    if value in BOOKING_LANGUAGES:
        return None
    return f"{prop} must be one of the following values: {', '.join(BOOKING_LANGUAGES)}"


def is_phone(prop: str, value: Any) -> str | None:
    """libphonenumber-js `isValidPhoneNumber(value)` without a default country: international only."""
    if not value:
        return None
    try:
        number = phonenumbers.parse(str(value), None)
    except phonenumbers.NumberParseException:
        return MSG_PHONE
    return None if phonenumbers.is_valid_number(number) else MSG_PHONE


def is_email_or_empty(prop: str, value: Any) -> str | None:
    return None if not value or (isinstance(value, str) and _EMAIL.match(value)) else MSG_EMAIL


def is_email(prop: str, value: Any) -> str | None:
    ok = isinstance(value, str) and bool(_EMAIL.match(value))
    return None if ok else f"{prop} must be an email"


def is_metadata(prop: str, value: Any) -> str | None:
    """validators/validate-metadata.ts: ≤ 50 keys, keys ≤ 40 chars, strings ≤ 500; numbers, booleans."""
    if not isinstance(value, dict):
        return MSG_METADATA
    ok = len(value) <= 50 and all(
        len(key) <= 40
        and (isinstance(v, bool | int | float) or (isinstance(v, str) and len(v) <= 500))
        for key, v in value.items()
    )
    return None if ok else MSG_METADATA


def is_integer_string(prop: str, value: Any) -> str | None:
    # Query values are strings; the slots input transforms them with parseInt before IsInt.
    ok = isinstance(value, str) and value.strip().lstrip("-").isdigit()
    return None if ok else f"{prop} must be an integer number"


def is_format(prop: str, value: Any) -> str | None:
    if isinstance(value, str) and value.lower() in ("range", "time"):
        return None
    return f"{prop} must be one of the following values: range, time"


@dataclass(frozen=True)
class Prop:
    checks: tuple[Check, ...] = ()
    optional: bool = False
    nested: Shape | None = None


@dataclass(frozen=True)
class Shape:
    props: Mapping[str, Prop] = field(default_factory=dict)


def problems(shape: Shape, value: Mapping[str, Any]) -> str:
    """Cal.com's flattened error text, or "" when the value is valid."""
    return ", ".join(_errors(shape, value))


def _errors(shape: Shape, value: Mapping[str, Any]) -> list[str]:
    out = [
        f"{key} property is wrong,property {key} should not exist "
        for key in value
        if key not in shape.props
    ]
    for name, prop in shape.props.items():
        present = name in value and value[name] is not None
        if not present and prop.optional:
            continue
        item = value.get(name)
        if prop.nested is not None:
            if not isinstance(item, dict):
                out.append(
                    f"{name} property is wrong,nested property {name} must be either object or array "
                )
                continue
            children = _errors(prop.nested, item)
            if children:
                out.append(f"{name} property is wrong, {', '.join(children)}")
            continue
        constraints = [msg for check in prop.checks if (msg := check(name, item)) is not None]
        if constraints:
            out.append(f"{name} property is wrong,{', '.join(constraints)} ")
    return out


# create-booking.input.ts: Attendee and CreateBookingInput_2024_08_13, in declaration order.
ATTENDEE = Shape(
    {
        "name": Prop((is_string,)),
        "email": Prop((is_email_or_empty,), optional=True),
        "timeZone": Prop((is_time_zone,)),
        "phoneNumber": Prop((is_phone,), optional=True),
        "language": Prop((is_language,), optional=True),
    }
)
CREATE_BOOKING = Shape(
    {
        "start": Prop((is_date_string,)),
        "lengthInMinutes": Prop((is_int, min_1), optional=True),
        "eventTypeId": Prop((is_int,)),
        "attendee": Prop(nested=ATTENDEE),
        "guests": Prop((is_string_array,), optional=True),
        "meetingUrl": Prop((is_string,), optional=True),
        "location": Prop((), optional=True),
        "metadata": Prop((is_object, is_metadata), optional=True),
        "bookingFieldsResponses": Prop((is_object,), optional=True),
    }
)
# cancel-booking.input.ts (CancelBookingInput_2024_08_13; the seated variant is not modelled).
CANCEL_BOOKING = Shape(
    {
        "cancellationReason": Prop((is_string,), optional=True),
        "cancelSubsequentBookings": Prop((is_boolean,), optional=True),
    }
)
# reschedule-booking.input.ts (RescheduleBookingInput_2024_08_13).
RESCHEDULE_BOOKING = Shape(
    {
        "start": Prop((is_date_string,)),
        "reschedulingReason": Prop((is_string,), optional=True),
        "rescheduledBy": Prop((is_email,), optional=True),
    }
)
# get-slots.input.ts (by event type id; slug, team and usernames lookups are not modelled).
SLOTS_QUERY = Shape(
    {
        "eventTypeId": Prop((is_integer_string,)),
        "start": Prop((is_date_string,)),
        "end": Prop((is_date_string,)),
        "timeZone": Prop((is_time_zone,), optional=True),
        "duration": Prop((is_integer_string,), optional=True),
        "format": Prop((is_format,), optional=True),
        "bookingUidToReschedule": Prop((is_string,), optional=True),
    }
)
