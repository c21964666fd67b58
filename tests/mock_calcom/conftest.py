"""A real mock_calcom server (uvicorn subprocess) shared by the tests, reset before each one.

Over real TCP because connection resets, empty replies, hangs and dribbled bodies only exist there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_calcom.launcher import running_mock
from tests.mock_calcom.calcom_mock_support import MockClient


@pytest.fixture(scope="session")
def mock_url() -> Iterator[str]:
    with running_mock("--seed", "7", "--max-hang-s", "3") as base_url:
        yield base_url


@pytest.fixture
def mock(mock_url: str) -> Iterator[MockClient]:
    client = MockClient(mock_url)
    client.reset()
    yield client
    client.close()
