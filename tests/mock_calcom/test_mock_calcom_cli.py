"""`python -m mock_calcom` with its options, the CLI function the lead mounts, and the bench."""

from __future__ import annotations

import inspect
from pathlib import Path

import httpx

from mock_calcom.app import create_app
from mock_calcom.bench import bench_slots
from mock_calcom.cli import mock_calcom_command
from mock_calcom.launcher import running_mock
from mock_calcom.settings import MockSettings


def test_cli_options_reach_the_server() -> None:
    args = [
        "--faults",
        "lost_response",
        "--seed",
        "3",
        "--race-window-ms",
        "40",
        "--api-key",
        "cal_secret",
    ]
    with running_mock(*args, "--conflict-status", "409", "--rate-limit") as base_url:
        config = httpx.get(f"{base_url}/_control/config").json()
        assert (
            config["seed"],
            config["race_window_ms"],
            config["conflict_status"],
            config["rate_limit"],
        ) == (
            3,
            40,
            409,
            True,
        )
        (rule,) = httpx.get(f"{base_url}/_control/faults").json()["faults"]
        assert rule["kind"] == "commit_then_timeout" and rule["count"] == 1
        denied = httpx.get(
            f"{base_url}/v2/event-types", headers={"Authorization": "Bearer cal_other"}
        )
        assert denied.status_code == 401
        allowed = httpx.get(
            f"{base_url}/v2/event-types", headers={"Authorization": "Bearer cal_secret"}
        )
        assert allowed.status_code == 200 and "X-RateLimit-Remaining-Default" in allowed.headers


def test_a_profile_file_sets_faults_and_config(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "faults:\n  - {kind: http_503, method: GET, path: /v2/slots, count: 1}\nconfig: {race_window_ms: 25}\n"
    )
    state = create_app(MockSettings(faults=profile, seed=1)).state.mock
    assert [r["kind"] for r in state.faults.snapshot()] == ["http_503"]
    assert state.config.race_window_ms == 25


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
