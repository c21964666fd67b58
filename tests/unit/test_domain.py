from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking_core.domain.model import (
    AppointmentStatus,
    InvalidTransition,
    OpeningHours,
    Service,
    Slot,
    check_transition,
    clear_of,
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


_MINUTE = timedelta(minutes=1)
_ORIGIN = datetime(2031, 3, 4, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
_moments = st.integers(min_value=0, max_value=600).map(lambda m: _ORIGIN + m * _MINUTE)


@given(starts=st.lists(_moments, max_size=40).map(sorted),
       held=st.lists(st.tuples(_moments, st.integers(min_value=1, max_value=180)), max_size=30),
       minutes=st.integers(min_value=5, max_value=120))
def test_clear_of_keeps_exactly_the_starts_that_overlap_nothing_held(
        starts: list[datetime], held: list[tuple[datetime, int]], minutes: int) -> None:
    intervals = [(start, start + length * _MINUTE) for start, length in held]
    length = minutes * _MINUTE
    expected = [s for s in starts if not any(s < end and begin < s + length for begin, end in intervals)]
    assert clear_of(starts, intervals, length) == expected


def test_clear_of_treats_touching_appointments_as_free_edges() -> None:
    held = [(_ORIGIN, _ORIGIN + 60 * _MINUTE), (_ORIGIN + 60 * _MINUTE, _ORIGIN + 90 * _MINUTE)]
    starts = [_ORIGIN + m * _MINUTE for m in (-30, 0, 30, 60, 89, 90, 120)]
    assert clear_of(starts, held, 30 * _MINUTE) == [_ORIGIN - 30 * _MINUTE, _ORIGIN + 90 * _MINUTE,
                                                     _ORIGIN + 120 * _MINUTE]
