"""One handler per Retell custom function: parse the wish, run the use case, phrase the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from booking_core.adapters.calcom import CalcomError
from booking_core.adapters.orm import AppointmentRow
from booking_core.domain.model import (
    AppointmentStatus,
    BookingRefused,
    Service,
    from_utc_naive,
    to_utc_naive,
)
from booking_core.language import phrases
from booking_core.observability import log
from booking_core.schemas import FunctionAnswer, FunctionArgs
from booking_core.service_layer.answers import booked_data, iso, refusal_answer
from booking_core.service_layer.availability import (
    ALTERNATIVE_DAYS,
    MIN_SLOTS_TIMEOUT_S,
    Wish,
    alternatives,
    check_bookable,
    free_starts,
    nearest,
    understand_when,
)
from booking_core.service_layer.booking import Booked, book_slot
from booking_core.service_layer.catalog import describe
from booking_core.service_layer.compensation import cancel_in_calcom
from booking_core.service_layer.context import CallContext
from booking_core.service_layer.core import Core
from booking_core.service_layer.reschedule import move_appointment, resume_move

Handler = Callable[[Core, CallContext, FunctionArgs], Awaitable[FunctionAnswer]]


async def _service(core: Core, ctx: CallContext, args: FunctionArgs) -> Service:
    return await core.catalog.resolve(args.service, selection_enabled=core.settings.service_selection_enabled,
                                      default=core.settings.default_service, call_id=ctx.call_id)


async def get_available_services(core: Core, ctx: CallContext, args: FunctionArgs) -> FunctionAnswer:
    if not core.settings.service_selection_enabled:
        return FunctionAnswer(success=False, error="disabled", message=phrases.disabled())
    services = await core.catalog.services()
    return FunctionAnswer(success=True, message=phrases.services_list([s.name for s in services]),
                          data={"services": [describe(s) for s in services]})


async def check_availability(core: Core, ctx: CallContext, args: FunctionArgs) -> FunctionAnswer:
    service = await _service(core, ctx, args)
    wish = understand_when(core, args.date_time, ctx.now)
    data: dict[str, Any] = {"service": service.name}
    budget = core.settings.calcom_budget_s
    try:
        if wish.start is not None:
            await _check_bookable(core, ctx, service, wish.start)
            # The wish's day and the days after it in one read: if the wish is taken, the
            # alternatives are already at hand.
            starts = await free_starts(core, service, wish.day, ALTERNATIVE_DAYS, ctx.now,
                                       timeout_s=ctx.left(budget, MIN_SLOTS_TIMEOUT_S))
            if wish.start in starts:
                data.update(available=True, requested=iso(wish.start), slots=[iso(wish.start)])
                return FunctionAnswer(success=True, message=phrases.available(service.name, wish.start), data=data)
            alts = nearest(core, starts, wish.start, exclude=wish.start)
            data.update(available=False, requested=iso(wish.start), slots=[iso(a) for a in alts],
                        alternatives=[iso(a) for a in alts])
            return FunctionAnswer(success=True, message=phrases.slot_taken(alts), data=data)
        starts = await _starts_in_wish(core, service, wish, ctx.now, timeout_s=ctx.left(budget, MIN_SLOTS_TIMEOUT_S))
    except CalcomError:
        raise BookingRefused("calcom_unavailable") from None
    data.update(available=bool(starts), requested=None, slots=[iso(s) for s in starts])
    return FunctionAnswer(success=True, message=phrases.free_slots(service.name, starts), data=data)


async def _starts_in_wish(core: Core, service: Service, wish: Wish, now: datetime,
                          timeout_s: float | None = None) -> list[datetime]:
    holiday = core.hours.holiday(wish.day)
    if holiday is not None and wish.days == 1:
        around = datetime.combine(wish.day, core.hours.opening, core.settings.zone)
        raise BookingRefused("outside_hours", closed=holiday,
                             alternatives=await alternatives(core, service, around, now, timeout_s=timeout_s or 0.5))
    starts = await free_starts(core, service, wish.day, wish.days, now, timeout_s=timeout_s)
    if wish.window is not None:
        starts = [s for s in starts if wish.window[0] <= s.time() < wish.window[1]]
    spread: list[datetime] = []
    for start in starts:
        if not spread or (start - spread[-1]) >= timedelta(hours=1):
            spread.append(start)
    return spread[: core.settings.alternatives_count]


async def _exact_start(core: Core, ctx: CallContext, service: Service, text: str | None, arg: str) -> datetime:
    if not text or not text.strip():
        raise BookingRefused("invalid_args", missing=[arg])
    wish = understand_when(core, text, ctx.now)
    if wish.start is None:
        try:
            starts = await _starts_in_wish(core, service, wish, ctx.now,
                                           timeout_s=ctx.left(core.settings.calcom_budget_s, MIN_SLOTS_TIMEOUT_S))
        except CalcomError:
            starts = []
        raise BookingRefused("time_needed", alternatives=starts)
    await _check_bookable(core, ctx, service, wish.start)
    return wish.start


async def _check_bookable(core: Core, ctx: CallContext, service: Service, start: datetime) -> None:
    try:
        check_bookable(core, service, start, ctx.now)
    except BookingRefused as refused:
        raise await with_alternatives(core, ctx, service, start, refused) from None


# Refusals that offer other times. The SAGA raises them bare: their alternatives take a Cal.com call
# and a DB read, which belong after the lock is released, so the handler attaches them here.
OFFERS_ALTERNATIVES = ("slot_taken", "lock_busy", "outside_hours")


async def with_alternatives(core: Core, ctx: CallContext, service: Service, start: datetime,
                            refused: BookingRefused) -> BookingRefused:
    """The refusal with the nearest free starts around `start`, unless it names its own (maybe none)."""
    if refused.code not in OFFERS_ALTERNATIVES or "alternatives" in refused.data:
        return refused
    budget = core.settings.calcom_budget_s
    if refused.code == "outside_hours":
        refused.data["alternatives"] = await alternatives(core, service, start, ctx.now, timeout_s=ctx.left(budget))
    else:  # the wish itself is taken: offer others, soon (the caller already waited for the lock)
        refused.data["alternatives"] = await alternatives(core, service, start, ctx.now, exclude=start,
                                                          timeout_s=ctx.left(budget, 0.2))
    return refused


def _phone(ctx: CallContext, args: FunctionArgs) -> str:
    phone = (args.customer_phone or ctx.caller_phone or "").strip()
    if not phone:
        raise BookingRefused("invalid_args", missing=["customer_phone"])
    return phone


async def book_appointment(core: Core, ctx: CallContext, args: FunctionArgs) -> FunctionAnswer:
    missing = [name for name in ("service", "date_time", "customer_name") if not (getattr(args, name) or "").strip()]
    if core.settings.service_selection_enabled is False and "service" in missing:
        missing.remove("service")
    if missing:
        raise BookingRefused("invalid_args", missing=missing)
    service = await _service(core, ctx, args)
    start = await _exact_start(core, ctx, service, args.date_time, "date_time")
    phone = _phone(ctx, args)
    try:
        booked = await book_slot(core, ctx, service, start, (args.customer_name or "").strip(), phone)
    except BookingRefused as refused:
        held = await _already_theirs(core, phone, service, start) if refused.code == "slot_taken" else None
        if held is not None:
            return FunctionAnswer(success=True, message=phrases.already_booked(service.name, held.start),
                                  data=booked_data(held) | {"already_booked": True})
        raise await with_alternatives(core, ctx, service, start, refused) from None
    return FunctionAnswer(success=True, message=phrases.booked(service.name, booked.start), data=booked_data(booked))


async def _already_theirs(core: Core, phone: str, service: Service, start: datetime) -> Booked | None:
    """The caller's own confirmed appointment for this service at exactly this start: the slot is
    "taken" by them, and telling them "vergeben" would be false."""
    try:
        async with core.uow() as uow:
            rows = await uow.appointments.upcoming_for_phone(phone, to_utc_naive(start))
    except SQLAlchemyError:
        return None
    for row in rows:
        if row.service_id == service.id and row.start_at == to_utc_naive(start) and row.calcom_uid:
            zone = core.settings.zone
            return Booked(row.id, service, start, from_utc_naive(row.end_at, zone), row.calcom_uid)
    return None


async def _callers_appointment(core: Core, ctx: CallContext, phone: str, when_text: str | None) -> AppointmentRow:
    async with core.uow() as uow:
        rows = await uow.appointments.upcoming_for_phone(phone, to_utc_naive(ctx.now))
    zone = core.settings.zone
    if when_text and when_text.strip():
        wish = understand_when(core, when_text, ctx.now)
        rows = [r for r in rows if from_utc_naive(r.start_at, zone).date() == wish.day
                and (wish.start is None or from_utc_naive(r.start_at, zone) == wish.start)]
    if not rows:
        raise BookingRefused("not_found")
    if len(rows) > 1:
        raise BookingRefused("appointment_ambiguous",
                             appointments=[from_utc_naive(r.start_at, zone) for r in rows])
    return rows[0]


async def cancel_appointment(core: Core, ctx: CallContext, args: FunctionArgs) -> FunctionAnswer:
    phone = _phone(ctx, args)
    earlier = await _closed_by_this_call(core, ctx, AppointmentStatus.CANCELLED)
    if earlier is not None:  # a retry of a cancel that happened: say so again
        row, name = earlier
        await cancel_in_calcom(core, row.id, row.calcom_uid, ctx.call_id, ctx.left(core.settings.calcom_budget_s, 0.3))
        start = from_utc_naive(row.start_at, core.settings.zone)
        return FunctionAnswer(success=True, message=phrases.cancelled(name, start),
                              data={"appointment_id": row.id, "start": iso(start), "status": "cancelled"})
    row = await _callers_appointment(core, ctx, phone, args.date_time)
    zone = core.settings.zone
    async with core.uow() as uow:
        current = await uow.appointments.get(row.id, for_update=True)
        if current is None or current.status != AppointmentStatus.CONFIRMED.value:
            raise BookingRefused("not_found")
        if not await uow.appointments.transition(row.id, AppointmentStatus.CANCELLED,
                                                  expected={"status": AppointmentStatus.CONFIRMED.value},
                                                  closed_by_key=ctx.idempotency_key):
            raise BookingRefused("not_found")
        service = await uow.services.get(current.service_id)
        await uow.commit()
    await cancel_in_calcom(core, row.id, row.calcom_uid, ctx.call_id, ctx.left(core.settings.calcom_budget_s, 0.3))
    start = from_utc_naive(row.start_at, zone)
    core.slots.forget(start)
    name = service.name if service else "Ihren Termin"
    return FunctionAnswer(success=True, message=phrases.cancelled(name, start),
                          data={"appointment_id": row.id, "start": iso(start), "status": "cancelled"})


async def _closed_by_this_call(core: Core, ctx: CallContext,
                               status: AppointmentStatus) -> tuple[AppointmentRow, str] | None:
    """On a retry (never a first attempt): the appointment this very request already closed. After
    a takeover the caller's appointment is no longer `confirmed`, and "not found" would be false."""
    if ctx.first_attempt:
        return None
    async with core.uow() as uow:
        row = await uow.appointments.closed_by(ctx.idempotency_key)
        service = await uow.services.get(row.service_id) if row is not None else None
    if row is None or row.status != status.value:
        return None
    return row, service.name if service else "Ihren Termin"


async def reschedule_appointment(core: Core, ctx: CallContext, args: FunctionArgs) -> FunctionAnswer:
    if not (args.new_date_time or "").strip():
        raise BookingRefused("invalid_args", missing=["new_date_time"])
    phone = _phone(ctx, args)
    resumed = await _resume_move(core, ctx)
    if resumed is not None:
        return resumed
    old = await _callers_appointment(core, ctx, phone, args.old_date_time)
    async with core.uow() as uow:
        service_row = await uow.services.get(old.service_id)
        customer = await uow.customers.by_phone(phone)
    service = await core.catalog.by_name(service_row.name) if service_row else None
    if service is None:
        raise BookingRefused("service_unknown")
    start = await _exact_start(core, ctx, service, args.new_date_time, "new_date_time")
    try:
        booked = await move_appointment(core, ctx, service, old, start, customer.name if customer else "", phone)
    except BookingRefused as refused:
        raise await with_alternatives(core, ctx, service, start, refused) from None
    return _moved_answer(core, service, booked, old)


async def _resume_move(core: Core, ctx: CallContext) -> FunctionAnswer | None:
    """A retry of a reschedule whose first attempt may have run: finish or report that move."""
    if ctx.first_attempt:
        return None
    async with core.uow() as uow:
        new = await uow.appointments.by_idempotency_key(ctx.idempotency_key)
        old = await uow.appointments.get(new.rescheduled_from_id) if new and new.rescheduled_from_id else None
        service_row = await uow.services.get(new.service_id) if new is not None else None
    if new is None or old is None or service_row is None:
        return None
    service = await core.catalog.by_name(service_row.name)
    if service is None:
        raise BookingRefused("service_unknown")
    booked = await resume_move(core, ctx, service, new)
    return _moved_answer(core, service, booked, old)


def _moved_answer(core: Core, service: Service, booked: Booked, old: AppointmentRow) -> FunctionAnswer:
    old_start = from_utc_naive(old.start_at, core.settings.zone)
    core.slots.forget(old_start)
    data = booked_data(booked) | {"old_start": iso(old_start), "old_appointment_id": old.id}
    return FunctionAnswer(success=True, message=phrases.rescheduled(service.name, booked.start), data=data)


async def list_appointments(core: Core, ctx: CallContext, args: FunctionArgs) -> FunctionAnswer:
    phone = _phone(ctx, args)
    zone = core.settings.zone
    async with core.uow() as uow:
        rows = await uow.appointments.upcoming_for_phone(phone, to_utc_naive(ctx.now))
        names = {s.id: s.name for s in await uow.services.all()}
    items = [(names.get(r.service_id, "Termin"), from_utc_naive(r.start_at, zone)) for r in rows]
    return FunctionAnswer(success=True, message=phrases.appointments_list(items), data={"appointments": [
        {"appointment_id": r.id, "service": name, "start": iso(start),
         "end": iso(from_utc_naive(r.end_at, zone)), "status": r.status}
        for r, (name, start) in zip(rows, items, strict=True)]})


HANDLERS: dict[str, Handler] = {
    "get_available_services": get_available_services,
    "check_availability": check_availability,
    "book_appointment": book_appointment,
    "cancel_appointment": cancel_appointment,
    "reschedule_appointment": reschedule_appointment,
    "list_appointments": list_appointments,
}


async def run_function(core: Core, name: str, ctx: CallContext, args: FunctionArgs) -> FunctionAnswer:
    handler = HANDLERS.get(name)
    if handler is None:
        return FunctionAnswer(success=False, error="unknown_function", message=phrases.unknown_function(),
                              data={"known_functions": list(HANDLERS)})
    try:
        return await handler(core, ctx, args)
    except BookingRefused as refused:
        return refusal_answer(refused)
    except SQLAlchemyError as exc:
        log.error("database error", call_id=ctx.call_id, function=name, error=f"{type(exc).__name__}: {exc}"[:500])
        return refusal_answer(BookingRefused("db_unavailable"))
