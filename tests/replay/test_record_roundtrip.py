"""The issue's first "must show", end to end: record a scenario through the real stack, replay it
with `callsim replay --strict`: identical."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.scenario import Scenario
from replay.files import open_recording
from replay.record import record_scenario
from tests.replay.test_replay_cli import replay

# Defined here, not taken from scenarios/: the test is about recording, not about that catalogue.
SCENARIO = Scenario.model_validate({
    "name": "record-roundtrip",
    "turns": ["Ich möchte morgen um 10 Uhr einen Herrenschnitt, mein Name ist {name}."],
    "expect": {"outcome": "booked"},
})


@pytest.mark.slow
async def test_a_recorded_scenario_replays_identically(tmp_path: Path) -> None:
    folder = tmp_path / "cassettes" / SCENARIO.name
    run = await record_scenario(SCENARIO, folder)

    assert not run.errors and run.scenarios[0].passed, run.failure_lines()
    recording = open_recording(folder)
    assert recording.metadata["scenario"] == SCENARIO.name
    assert [e.label for e in recording.exchanges if not e.label.startswith("event")] == [
        "check_availability", "book_appointment"]
    assert recording.calcom_exchanges >= 3  # services sync, slots, the booking

    done = replay(str(folder), "--strict", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "IDENTICAL" in done.stdout
