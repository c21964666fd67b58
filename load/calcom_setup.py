"""Putting mock_calcom into a profile's state (race window, faults) and back, and reading its ledger."""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT_S = 10


class CalcomSetupError(Exception):
    pass


def _control(method: str, calcom_url: str, path: str, json: Any = None) -> Any:
    try:
        response = httpx.request(method, f"{calcom_url.rstrip('/')}/_control/{path}", json=json, timeout=TIMEOUT_S)
    except httpx.HTTPError as error:
        raise CalcomSetupError(f"{method} /_control/{path}: {type(error).__name__}: {error}") from None
    if response.status_code >= 400:
        raise CalcomSetupError(f"{method} /_control/{path}: HTTP {response.status_code}: {response.text[:300]} "
                               "(faults and race windows need mock_calcom)")
    return response.json()


def degrade(calcom_url: str, race_window_ms: int, faults: list[dict[str, Any]]) -> None:
    _control("PUT", calcom_url, "config", {"race_window_ms": race_window_ms})
    _control("PUT", calcom_url, "faults", {"faults": faults})


def restore(calcom_url: str) -> list[dict[str, Any]]:
    """Back to a healthy Cal.com (the reconciler and the checker must see the truth); returns the
    fault rules with their hit counts, for the record."""
    hits = list(_control("GET", calcom_url, "faults").get("faults", []))
    _control("DELETE", calcom_url, "faults")
    _control("PUT", calcom_url, "config", {"race_window_ms": 0})
    return hits


def ledger(calcom_url: str) -> dict[str, Any] | None:
    """mock_calcom's ledger (every booking with its status history); None for a real Cal.com."""
    try:
        return dict(_control("GET", calcom_url, "ledger"))
    except CalcomSetupError:
        return None
