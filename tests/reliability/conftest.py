"""tests/reliability: the `soak` marker (long runs, `make soak`) is registered here, since the
project's pytest configuration is not ours to edit."""

from __future__ import annotations

import os

import pytest

SOAK = os.environ.get("CALLSIM_SOAK") == "1"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: long reliability runs; only with CALLSIM_SOAK=1 (make soak)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SOAK:
        return
    skip = pytest.mark.skip(reason="soak run: set CALLSIM_SOAK=1 (make soak)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
