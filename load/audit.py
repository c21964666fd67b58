"""After the run: heal with `callsim reconcile`, then check the invariants with `callsim check`.

Both run as child processes: they are asyncio programs, and the Locust process they are called
from is gevent-patched. This is the one place the load gates reach the invariant checker.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

RECONCILE_TIMEOUT_S = 120
CHECK_TIMEOUT_S = 120


class AuditError(Exception):
    pass


def _callsim() -> list[str]:
    script = Path(sys.executable).with_name("callsim")
    if script.exists():
        return [str(script)]
    found = shutil.which("callsim")
    if found:
        return [found]
    return [sys.executable, "-c", "from callsim.cli import app; app()"]


def _json_out(stdout: str) -> dict[str, Any]:
    start = stdout.find("{")
    if start < 0:
        raise AuditError(f"no JSON in output: {stdout[-500:]!r}")
    return dict(json.loads(stdout[start:]))


def reconcile(calcom_url: str, database_url: str, api_key: str) -> dict[str, Any]:
    """Settle what the run left pending and cancel orphans now (grace 0), as the operators' job would."""
    done = subprocess.run([*_callsim(), "reconcile", "--database-url", database_url, "--calcom-url", calcom_url,
                           "--api-key", api_key, "--grace-s", "0"],
                          capture_output=True, text=True, timeout=RECONCILE_TIMEOUT_S)
    if done.returncode not in (0, 1):
        raise AuditError(f"callsim reconcile exited {done.returncode}: {done.stderr[-800:]}")
    report = _json_out(done.stdout)
    report["exit_code"] = done.returncode
    return report


def check(calcom_url: str, database_url: str | None, api_key: str, answers: Path | None) -> dict[str, Any]:
    """`callsim check` JSON: orphans, double bookings (active and transient), ghosts, truthfulness."""
    command = [*_callsim(), "check", "--calcom-url", calcom_url, "--api-key", api_key]
    if database_url:
        command += ["--database-url", database_url]
    if answers is not None:
        command += ["--answers", str(answers)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S)
    if done.returncode not in (0, 1, 2):
        raise AuditError(f"callsim check exited {done.returncode}: {done.stderr[-800:]}")
    return _json_out(done.stdout)
