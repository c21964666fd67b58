"""Shared fixtures: real PostgreSQL, MariaDB and Redis when CALLSIM_TEST_SERVICES=1.

With the variable set, an unreachable server FAILS the test (CI must prove the real thing);
without it, those tests skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.support.services import (
    MARIADB_ADMIN_URL,
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    create_database,
    drop_database,
    redis_reachable,
)

SERVICES_REQUIRED = os.environ.get("CALLSIM_TEST_SERVICES") == "1"


def _unavailable(what: str, error: object) -> None:
    message = f"{what} unreachable: {error}"
    if SERVICES_REQUIRED:
        pytest.fail(f"{message} (CALLSIM_TEST_SERVICES=1 requires it)")
    pytest.skip(f"{message}; set CALLSIM_TEST_SERVICES=1 with the server running")


def _database(kind: str, admin_url: str) -> Iterator[str]:
    name = f"callsim_{uuid.uuid4().hex[:10]}"
    try:
        url = create_database(admin_url, name)
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not there"
        _unavailable(kind, exc)
    try:
        yield url
    finally:
        drop_database(admin_url, name)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    yield from _database("PostgreSQL", POSTGRES_ADMIN_URL)


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database for one test."""
    yield from _database("MariaDB", MARIADB_ADMIN_URL)


@pytest.fixture
def redis_url() -> str:
    error = redis_reachable(REDIS_URL)
    if error:
        _unavailable("Redis", error)
    return REDIS_URL


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite+aiosqlite:///{tmp_path}/callsim.db"
