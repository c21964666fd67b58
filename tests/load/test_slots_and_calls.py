"""Where callers aim and what they say: slot spaces and call scripts, without any server."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from booking_core.schemas import FUNCTION_NAMES
from load.calls import SCRIPTS, Answer, Caller, Turn
from load.profiles import SALON_DEMAND, STORM_DEMAND
from load.slots import CLOSING, SALON_ZONE, SlotSpace, bookable_days

DURATIONS = {"Herrenschnitt": 30, "Herrenschnitt mit Bart": 45, "Bartpflege": 20, "Balayage": 150,
             "Damenschnitt": 60}
MUTATING = {"book_appointment", "cancel_appointment", "reschedule_appointment"}
SATURDAY = date(2026, 11, 28)


def test_bookable_days_skip_sunday_and_keep_the_lead() -> None:
    days = bookable_days(SATURDAY, 6)
    assert days[0] >= SATURDAY + timedelta(days=2)
    assert all(d.weekday() != 6 for d in days)
    assert len(set(days)) == 6 and days == sorted(days)


def test_a_long_service_is_only_aimed_where_it_ends_before_closing() -> None:
    space = SlotSpace.spread({"Balayage": 1}, DURATIONS, slots=200, today=SATURDAY)
    rng = random.Random(1)
    for _ in range(200):
        wish = space.pick(rng)
        assert wish.start + timedelta(minutes=150) <= datetime.combine(wish.start.date(), CLOSING, SALON_ZONE)


def test_a_handful_is_one_morning_half_hours_apart() -> None:
    space = SlotSpace.handful(STORM_DEMAND, DURATIONS, slots=4, today=SATURDAY)
    assert len({s.date() for s in space.starts}) == 1
    assert [b - a for a, b in zip(space.starts, space.starts[1:], strict=False)] == [timedelta(minutes=30)] * 3


def _answer_for(turn: Turn, rng: random.Random, space: SlotSpace) -> Answer:
    """A plausible webhook answer: success or a refusal with alternatives, chosen at random."""
    when = turn.args.get("new_date_time") or turn.args.get("date_time")
    if rng.random() < 0.5:
        other = rng.choice(space.starts).isoformat()
        return Answer(False, rng.choice(["slot_taken", "lock_busy"]), "vergeben", {"alternatives": [other]})
    data: dict[str, object] = {"available": True, "slots": [when]} if turn.name == "check_availability" else {}
    if turn.name in ("book_appointment", "reschedule_appointment"):
        data = {"appointment_id": "a", "start": when}
    return Answer(True, None, "ok", data)


def _drive(script_name: str, seed: int) -> list[Turn]:
    rng = random.Random(seed)
    if script_name == "storm":
        space = SlotSpace.handful(STORM_DEMAND, DURATIONS, 4, SATURDAY)
    else:
        space = SlotSpace.spread(SALON_DEMAND, DURATIONS, 300, SATURDAY)
    script = SCRIPTS[script_name](space, rng, Caller("Erika Muster", "+4915100000000"))
    turns = [next(script)]
    try:
        while True:
            turns.append(script.send(_answer_for(turns[-1], rng, space)))
    except StopIteration:
        return turns


def test_the_tour_calls_every_function_when_everything_succeeds() -> None:
    space = SlotSpace.spread(SALON_DEMAND, DURATIONS, 300, SATURDAY)
    script = SCRIPTS["tour"](space, random.Random(3), Caller("Erika Muster", "+4915100000000"))
    turns = [next(script)]
    try:
        while True:
            when = turns[-1].args.get("new_date_time") or turns[-1].args.get("date_time")
            turns.append(script.send(Answer(True, None, "gebucht", {"available": True, "start": when,
                                                                     "appointment_id": "a"})))
    except StopIteration:
        pass
    assert sorted(t.name for t in turns) == sorted(FUNCTION_NAMES)


@settings(max_examples=200, deadline=None)
@given(script=st.sampled_from(sorted(SCRIPTS)), seed=st.integers(0, 10**6))
def test_no_call_repeats_a_mutating_turn(script: str, seed: int) -> None:
    """A repeat would be answered from the idempotency store, not booked: never what a caller means."""
    mutating = [(t.name, tuple(sorted(t.args.items()))) for t in _drive(script, seed) if t.name in MUTATING]
    assert len(mutating) == len(set(mutating))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_a_storm_caller_stays_in_the_handful(seed: int) -> None:
    space = SlotSpace.handful(STORM_DEMAND, DURATIONS, 4, SATURDAY)
    handful = {s.isoformat() for s in space.starts}
    for turn in _drive("storm", seed):
        for key in ("date_time", "new_date_time"):
            if key in turn.args and turn.name != "cancel_appointment":
                assert turn.args[key] in handful, turn
