"""The Retell client every webhook test module drives its own `target` stack with."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from harness.stack import Target
from tests.support.stack import RetellClient


@pytest.fixture
async def retell(target: Target) -> AsyncIterator[RetellClient]:
    """Faults are cleared after each test, so one module's stack serves every test in it."""
    client = RetellClient(target)
    yield client
    await client.faults()
    await client.aclose()
