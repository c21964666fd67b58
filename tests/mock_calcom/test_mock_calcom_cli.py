"""`python -m mock_calcom` with its options, the CLI function the lead mounts, and the bench."""

from __future__ import annotations

import inspect
from pathlib import Path

import httpx

from mock_calcom.bench import bench_slots
from mock_calcom.cli import mock_calcom_command
from mock_calcom.launcher import running_mock


def test_cli_options_reach_the_server(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "faults:\n  - {kind: http_503, method: GET, path: /v2/slots, count: 1}\nconfig: {rate_limit: true}\n"
    )
    args = [
        "--faults",
        str(profile),
        "--seed",
        "3",
        "--race-window-ms",
        "40",
        "--api-key",
        "cal_secret",
        "--conflict-status",
        "409",
    ]
    with running_mock(*args) as base_url:
        config = httpx.get(f"{base_url}/_control/config").json()
        assert (
            config["seed"],
            config["race_window_ms"],
            config["conflict_status"],
            config["rate_limit"],
        ) == (3, 40, 409, True)
        assert [r["kind"] for r in httpx.get(f"{base_url}/_control/faults").json()["faults"]] == [
            "http_503"
        ]
        denied = httpx.get(
            f"{base_url}/v2/event-types", headers={"Authorization": "Bearer cal_other"}
        )
        assert denied.status_code == 401
        allowed = httpx.get(
            f"{base_url}/v2/event-types", headers={"Authorization": "Bearer cal_secret"}
        )
        assert allowed.status_code == 200 and "X-RateLimit-Remaining-Default" in allowed.headers


def test_cli_accepts_a_shipped_profile_by_name() -> None:
    with running_mock("--faults", "lost_response") as base_url:
        (rule,) = httpx.get(f"{base_url}/_control/faults").json()["faults"]
        assert rule["kind"] == "commit_then_timeout" and rule["count"] == 1


def test_command_signature_for_mounting() -> None:
    parameters = inspect.signature(mock_calcom_command).parameters
    defaults = {
        name: p.default.default if hasattr(p.default, "default") else p.default
        for name, p in parameters.items()
    }
    assert list(parameters)[:8] == [
        "port", "host", "faults", "seed", "race_window_ms", "api_key", "catalog", "conflict_status"
    ]  # fmt: skip
    assert (
        defaults["port"],
        defaults["host"],
        defaults["race_window_ms"],
        defaults["conflict_status"],
    ) == (
        8001,
        "127.0.0.1",
        0,
        400,
    )


def test_bench_reports_percentiles() -> None:
    result = bench_slots(concurrency=5, requests=100, rate_per_s=200)
    assert result["requests"] == 100
    for side in ("client", "server"):
        figures = result[side]
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
