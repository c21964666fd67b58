"""What the service layer needs from the outside world, as one small protocol.

`bootstrap()` wires the real adapters into something of this shape; the unit tests wire in-memory
fakes (tests/unit/service_layer/fakes.py). Nothing in the service layer knows which it got.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from booking_core.adapters.calcom import CalcomClient
from booking_core.adapters.locks import SlotLock
from booking_core.adapters.slots_cache import SlotsCache
from booking_core.config import Settings
from booking_core.domain.model import OpeningHours
from booking_core.service_layer.catalog import Catalog
from booking_core.service_layer.unit_of_work import UnitOfWork


class Core(Protocol):
    """Read-only to the service layer: it uses the adapters, it never swaps them."""

    @property
    def settings(self) -> Settings: ...
    @property
    def uow(self) -> Callable[[], UnitOfWork]: ...  # a fresh unit of work per transaction
    @property
    def calcom(self) -> CalcomClient: ...
    @property
    def lock(self) -> SlotLock: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def slots(self) -> SlotsCache: ...
    @property
    def hours(self) -> OpeningHours: ...
    # (invocation key, attempt owner, call id, answer) given to callers and not yet stored: see idempotency.py
    @property
    def answers_to_store(self) -> list[tuple[str, str, str, Any]]: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run work after the answer (compensation retries) without losing the task to GC."""
