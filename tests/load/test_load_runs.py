"""`make load` end to end: the smoke profile passes its gates, and a gate that must fail does fail
(that run with two Locust worker processes, so the distributed path is covered too).

Both runs start their own stack (mock_calcom + core on free ports) through `python -m load.run` and
run side by side, so the pair costs about one run's time. Locust runs in its own process (gevent
must not patch this one).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from booking_core.schemas import FUNCTION_NAMES

RUN_TIMEOUT_S = 120


@dataclass
class LoadRun:
    process: subprocess.Popen[str]
    reports: Path
    profile: str

    def finish(self) -> tuple[int, str, dict]:  # type: ignore[type-arg]
        try:
            output, _ = self.process.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
            pytest.fail(f"{self.profile} run did not finish in {RUN_TIMEOUT_S} s:\n{output[-3000:]}")
        record_path = self.reports / f"{self.profile}_gates.json"
        record = json.loads(record_path.read_text()) if record_path.exists() else {}
        return self.process.returncode, output, record


def _start(reports: Path, profile: str, *args: str) -> LoadRun:
    command = [sys.executable, "-m", "load.run", profile, "--reports", str(reports), *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return LoadRun(process, reports, profile)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, LoadRun]]:
    started = {
        "smoke": _start(tmp_path_factory.mktemp("smoke"), "smoke"),
        # The lock switched off and Cal.com's check-then-insert race held open: concurrent creates of one
        # slot both succeed at Cal.com until the core's DB constraint and compensation cancel the extra.
        # Two Locust worker processes: the master's gates see what the workers' callers heard.
        "unlocked": _start(tmp_path_factory.mktemp("unlocked"), "race-storm", "--core-env", "LOCK_ENABLED=false",
                           "--race-window-ms", "250", "--users", "40", "--spawn-rate", "40", "--run-time", "8s",
                           "--think-s", "0.2,1", "--processes", "2"),
    }
    yield started
    for run in started.values():
        if run.process.poll() is None:
            run.process.kill()
            run.process.communicate()


def test_smoke_passes_every_gate(runs: dict[str, LoadRun]) -> None:
    code, output, record = runs["smoke"].finish()
    assert code == 0, output[-4000:]
    assert "all gates passed" in output
    gates = {g["name"]: g for g in record["gates"]}
    assert all(g["passed"] is not False for g in gates.values())
    # The invariants were really checked against the ledger and the DB, not skipped.
    assert gates["orphans"]["passed"] is True and gates["double bookings (Cal.com, transient)"]["passed"] is True
    assert record["invariants"]["database_checked"] is True
    assert set(record["latency"]) == set(FUNCTION_NAMES)
    assert (reports := runs["smoke"].reports / "smoke_stats.csv").exists(), reports
    assert (runs["smoke"].reports / "smoke.html").exists()


def test_race_storm_without_the_lock_fails_and_names_double_bookings(runs: dict[str, LoadRun]) -> None:
    code, output, record = runs["unlocked"].finish()
    assert code == 1, output[-4000:]
    assert "FAIL  double bookings (Cal.com, transient)" in output
    gate = next(g for g in record["gates"] if g["name"] == "double bookings (Cal.com, transient)")
    assert gate["passed"] is False and "Cal.com double booking of host:" in gate["detail"]
    assert record["invariants"]["counts"]["double_bookings"] >= 1
    # The answers came from the two workers' callers, through the master.
    assert record["latency"]["book_appointment"]["count"] >= 10
    assert next(g for g in record["gates"] if g["name"] == "bookings made")["passed"] is True
