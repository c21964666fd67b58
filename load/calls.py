"""Phone calls as the agent's function calls: one generator per kind of call.

A script yields the next `Turn` (function name and args, as the Retell agent would send them) and
receives the `Answer` the webhook gave, so later turns follow what the caller heard: an offered
slot, an alternative, the start that was booked. Scripts know nothing about Locust or HTTP.

No script repeats a mutating call with the same args inside one call: the core answers such a
repeat from its idempotency store (it is Retell's retry), which is not what a caller means.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from load.slots import SlotSpace, Wish


@dataclass(frozen=True)
class Turn:
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """What the webhook said; `success=False, error="transport"` when nothing usable came back."""

    success: bool
    error: str | None
    message: str
    data: dict[str, Any]

    @property
    def offered(self) -> list[str]:
        """Starts the agent would offer: the checked slot or the alternatives (ISO)."""
        return [str(s) for s in (self.data.get("slots") or self.data.get("alternatives") or [])]

    @property
    def alternatives(self) -> list[str]:
        return [str(s) for s in self.data.get("alternatives") or []]


@dataclass(frozen=True)
class Caller:
    name: str
    phone: str


Script = Generator[Turn, Answer, None]
ScriptFactory = Callable[[SlotSpace, random.Random, Caller], Script]


def _book(service: str, when: str, caller: Caller) -> Turn:
    return Turn("book_appointment", {"service": service, "date_time": when, "customer_name": caller.name})


def _check(wish: Wish) -> Turn:
    return Turn("check_availability", {"service": wish.service, "date_time": wish.iso})


def _start(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _other_offer(answer: Answer, tried: str) -> str | None:
    """The first alternative offered that is not the start just refused."""
    return next((a for a in answer.alternatives if _start(a) != _start(tried)), None)


def tour(space: SlotSpace, rng: random.Random, caller: Caller) -> Script:
    """Every function once: services, check, book, list, reschedule, cancel."""
    yield Turn("get_available_services")
    wish = space.pick(rng)
    checked = yield _check(wish)
    when = wish.iso if checked.data.get("available") or not checked.offered else checked.offered[0]
    booked = yield _book(wish.service, when, caller)
    offer = None if booked.success else _other_offer(booked, when)
    if offer is not None:
        when = offer
        booked = yield _book(wish.service, when, caller)
    yield Turn("list_appointments")
    if not booked.success:
        return
    start = str(booked.data.get("start") or when)
    moved_to = space.other(rng, wish.service, avoid={_start(start)})
    moved = yield Turn("reschedule_appointment", {"old_date_time": start, "new_date_time": moved_to.iso})
    yield Turn("cancel_appointment", {"date_time": str(moved.data.get("start") or start) if moved.success
                                      else start})


def peak(space: SlotSpace, rng: random.Random, caller: Caller) -> Script:
    """Monday morning: mostly availability checks, about one booking per call, now and then a list,
    a cancellation or a move of what was just booked."""
    if rng.random() < 0.3:
        yield Turn("get_available_services")
    tried: set[datetime] = set()
    wish = space.pick(rng)
    when: str | None = None
    for _ in range(rng.randint(1, 3)):
        tried.add(wish.start)
        checked = yield _check(wish)
        if checked.data.get("available"):
            when = wish.iso
            break
        if checked.offered and rng.random() < 0.7:
            when = checked.offered[0]
            break
        wish = space.pick(rng, avoid=tried)
    if when is None:
        return  # nothing suited: the caller hangs up
    booked = yield _book(wish.service, when, caller)
    offer = None if booked.success else _other_offer(booked, when)
    if offer is not None:
        booked = yield _book(wish.service, offer, caller)
    if not booked.success:
        return
    start = str(booked.data.get("start"))
    roll = rng.random()
    if roll < 0.10:
        yield Turn("list_appointments")
    elif roll < 0.15:
        yield Turn("cancel_appointment", {"date_time": start})
    elif roll < 0.20:
        moved_to = space.other(rng, wish.service, avoid={_start(start)})
        yield Turn("reschedule_appointment", {"old_date_time": start, "new_date_time": moved_to.iso})


def storm(space: SlotSpace, rng: random.Random, caller: Caller) -> Script:
    """Everyone wants one of a handful of slots. Whoever gets one gives it back (cancels, now and then
    after moving to another contended slot), so the fight goes on for the whole run."""
    wish = space.pick(rng)
    yield _check(wish)
    booked = yield _book(wish.service, wish.iso, caller)
    if not booked.success:
        wish = space.other(rng, wish.service, avoid={wish.start})
        booked = yield _book(wish.service, wish.iso, caller)
    if not booked.success:
        return
    start = str(booked.data.get("start"))
    if rng.random() < 0.3:
        moved_to = space.other(rng, wish.service, avoid={_start(start)})
        moved = yield Turn("reschedule_appointment", {"old_date_time": start, "new_date_time": moved_to.iso})
        if moved.success:
            start = str(moved.data.get("start"))
    yield Turn("cancel_appointment", {"date_time": start})


SCRIPTS: dict[str, ScriptFactory] = {"tour": tour, "peak": peak, "storm": storm}
