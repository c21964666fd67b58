"""Whether a kept answer is still true: a retry gets the first answer only while it is.

The same words in the same call are a Retell retry or the caller's deliberate repeat, and the
request alone cannot tell them apart. Other calls of the same caller may have changed what the
first answer described meanwhile (the booked appointment moved and cancelled, the cancelled time
booked again); replaying it then would tell the caller something false, so the request runs again.
"""

from __future__ import annotations

from booking_core.domain.model import AppointmentStatus
from booking_core.schemas import FunctionAnswer
from booking_core.service_layer.core import Core

CONFIRMED = AppointmentStatus.CONFIRMED.value


async def still_true(core: Core, name: str, answer: FunctionAnswer) -> bool:
    """False when the appointments the answer names no longer stand as it says. Raises
    SQLAlchemyError (the caller then keeps the answer: nothing better is known)."""
    appointment_id = answer.data.get("appointment_id") if answer.success else None
    if not isinstance(appointment_id, str):
        return True  # a refusal or an answer about nothing stored: nothing to contradict
    async with core.uow() as uow:
        row = await uow.appointments.get(appointment_id)
        if row is None:
            return False
        if name in ("book_appointment", "reschedule_appointment"):
            return row.status == CONFIRMED
        if name == "cancel_appointment":
            if row.status == CONFIRMED:
                return False
            if not row.customer_phone:
                return True
            # "storniert" is false once the caller holds that time again (booked in another call).
            again = await uow.appointments.upcoming_for_phone(row.customer_phone, row.start_at)
            return not any(other.start_at == row.start_at for other in again)
    return True
