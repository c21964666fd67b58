from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking_core.domain.model import (
    AppointmentStatus,
    InvalidTransition,
    OpeningHours,
    Service,
    Slot,
    check_transition,
)

BERLIN = ZoneInfo("Europe/Berlin")
CUT = Service(id=1, name="Damenschnitt", duration_min=60, price_eur=None, resource="host:101", calcom_event_type_id=2)


def at(hour: int, minute: int = 0, day: int = 25) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BERLIN)  # 25.11.2026 is a Wednesday


def test_overlapping_slots_of_different_services_share_a_lock_cell() -> None:
    long = Slot.for_service(CUT, at(10))
    short = Slot(resource="host:101", start=at(10, 45), end=at(11, 15))
    assert set(long.lock_keys(15)) & set(short.lock_keys(15))


def test_adjacent_slots_do_not_share_lock_cells() -> None:
    first = Slot.for_service(CUT, at(10))
    second = Slot.for_service(CUT, at(11))
    assert not set(first.lock_keys(15)) & set(second.lock_keys(15))
    assert len(first.lock_keys(15)) == 4


def test_lock_cells_are_per_resource() -> None:
    other = Service(id=2, name="Herrenschnitt", duration_min=60, price_eur=None, resource="host:102",
                    calcom_event_type_id=1)
    assert not set(Slot.for_service(CUT, at(10)).lock_keys(15)) & set(Slot.for_service(other, at(10)).lock_keys(15))


@pytest.mark.parametrize(("start", "fits"), [
    (at(9), True), (at(17), True), (at(17, 30), False), (at(8, 45), False), (at(10, day=29), False),
])
def test_opening_hours(start: datetime, fits: bool) -> None:
    hours = OpeningHours(time(9), time(18))
    assert hours.fits(start, 60) is fits


def test_appointment_transitions() -> None:
    check_transition("pending", AppointmentStatus.CONFIRMED)
    check_transition("confirmed", AppointmentStatus.CANCELLED)
    with pytest.raises(InvalidTransition):
        check_transition("cancelled", AppointmentStatus.CONFIRMED)
    with pytest.raises(InvalidTransition):
        check_transition("compensated", AppointmentStatus.CONFIRMED)


def test_slot_overlap_is_half_open() -> None:
    slot = Slot.for_service(CUT, at(10))
    assert slot.overlaps(at(10, 59), at(12))
    assert not slot.overlaps(at(11), at(12))
    assert not slot.overlaps(at(9), at(10))
    assert slot.end - slot.start == timedelta(minutes=60)
