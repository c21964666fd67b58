from __future__ import annotations

import pytest

from booking_core.config import Settings
from tests.unit.service_layer.fakes import FakeCore


@pytest.fixture
def core() -> FakeCore:
    return FakeCore(Settings(compensation_attempts=2, redis_url=None))
