"""Run the operator commands (`callsim reconcile`, `callsim check`) as an operator would."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from harness.stack import Target


def callsim(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "callsim", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def reconcile(target: Target) -> dict[str, Any]:
    done = callsim("reconcile", "--database-url", str(target.database_url), "--calcom-url", target.calcom_url,
                   "--api-key", target.calcom_api_key, "--grace-s", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def check(target: Target) -> tuple[int, dict[str, Any]]:
    done = callsim("check", "--calcom-url", target.calcom_url, "--database-url", str(target.database_url),
                   "--api-key", target.calcom_api_key)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)
