"""What the agent says back: a refusal or a booking as a German sentence plus machine fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from booking_core.domain.model import AppointmentStatus, BookingRefused
from booking_core.language import phrases
from booking_core.schemas import FunctionAnswer
from booking_core.service_layer.booking import Booked


def iso(moment: datetime) -> str:
    return moment.isoformat()


def booked_data(booked: Booked) -> dict[str, Any]:
    return {"appointment_id": booked.appointment_id, "service": booked.service.name, "start": iso(booked.start),
            "end": iso(booked.end), "duration_min": booked.service.duration_min,
            "price_eur": float(booked.service.price_eur) if booked.service.price_eur is not None else None,
            "status": AppointmentStatus.CONFIRMED.value, "calcom_uid": booked.calcom_uid}


def refusal_answer(refused: BookingRefused) -> FunctionAnswer:
    """Map a refusal to the sentence the agent says and the machine-readable fields."""
    offered = refused.data.get("alternatives", [])
    alts: list[datetime] | None = None if offered is None else list(offered)  # type: ignore[call-overload]
    data: dict[str, Any] = {}
    if "alternatives" in refused.data:
        data["alternatives"] = [iso(a) for a in alts or []]
    code = refused.code
    sentence: dict[str, Callable[[], str]] = {
        "slot_taken": lambda: phrases.slot_taken(alts),
        "lock_busy": lambda: phrases.lock_busy(alts),
        "outside_hours": lambda: phrases.outside_hours(alts, str(refused.data.get("closed") or "")),
        "time_needed": lambda: phrases.time_needed() + (" " + phrases.alternatives_sentence(alts) if alts else ""),
        "in_past": phrases.in_past,
        "service_unknown": phrases.service_unknown,
        "unparseable_time": lambda: phrases.unparseable_time(str(refused.data.get("unclear") or ""),
                                                              str(refused.data.get("said") or "")),
        "too_far_ahead": phrases.too_far_ahead,
        "calcom_unavailable": phrases.calcom_unavailable,
        "booking_unconfirmed": phrases.booking_unconfirmed,
        "db_unavailable": phrases.technical_problem,
        "lock_unavailable": phrases.lock_unavailable,
        "not_found": phrases.not_found,
        "disabled": phrases.disabled,
    }
    if code == "service_ambiguous":
        candidates = list(refused.data.get("candidates", []))  # type: ignore[call-overload]
        data["candidates"] = candidates
        return FunctionAnswer(success=False, error=code, message=phrases.service_ambiguous(candidates), data=data)
    if code == "appointment_ambiguous":
        starts = list(refused.data.get("appointments", []))  # type: ignore[call-overload]
        data["appointments"] = [iso(s) for s in starts]
        return FunctionAnswer(success=False, error=code, message=phrases.which_appointment(starts), data=data)
    if code == "invalid_args":
        missing = list(refused.data.get("missing", []))  # type: ignore[call-overload]
        data["missing"] = missing
        return FunctionAnswer(success=False, error=code, message=phrases.invalid_args(missing), data=data)
    for name in ("closed", "unclear", "said"):
        if refused.data.get(name):
            data[name] = refused.data[name]
    if code == "service_unknown" and refused.data.get("candidates"):
        data["candidates"] = list(refused.data["candidates"])  # type: ignore[call-overload]
    message = sentence.get(code, phrases.technical_problem)()
    return FunctionAnswer(success=False, error=code, message=message, data=data)
