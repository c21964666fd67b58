"""The whole run as JSON: verdicts, latency figures and every call's transcript and functions."""

from __future__ import annotations

import json
from pathlib import Path

from harness.results import RunResult


def run_as_dict(run: RunResult) -> dict:
    data = run.model_dump(mode="json")
    data["passed"] = run.passed
    data["failures"] = run.failure_lines()
    for scenario, result in zip(data["scenarios"], run.scenarios, strict=True):
        scenario["turns"] = result.turns
    return data


def write_json(run: RunResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run_as_dict(run), ensure_ascii=False, indent=2), encoding="utf-8")
