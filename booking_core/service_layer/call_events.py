"""Retell's call lifecycle events (`call_started`, `call_ended`, `call_analyzed`), stored once each."""

from __future__ import annotations

from typing import Any

from booking_core.adapters.orm import CallEventRow, CallRow
from booking_core.schemas import CallEvent
from booking_core.service_layer.core import Core


async def store_call_event(core: Core, call_id: str, event: CallEvent, payload: Any) -> bool:
    """Store the event and update the call it belongs to; False if this event was stored before.

    Retell delivers each event up to 3 times. A concurrent duplicate delivery that wins the race
    surfaces as the database's IntegrityError, other database errors as SQLAlchemyError: the
    route maps both to its answer."""
    async with core.uow() as uow:
        if await uow.calls.event(call_id, event.event) is not None:
            return False
        uow.calls.add(CallEventRow(call_id=call_id, event=event.event, payload=payload))
        row = await uow.calls.get(call_id)
        if row is None:
            row = CallRow(call_id=call_id, call={})
            uow.calls.add(row)
        row.agent_id = event.call.agent_id or row.agent_id
        row.from_number = event.call.from_number or row.from_number
        row.to_number = event.call.to_number or row.to_number
        row.status = event.event.removeprefix("call_")
        row.call = event.call.model_dump(mode="json", exclude_none=True)
        await uow.commit()
    return True
