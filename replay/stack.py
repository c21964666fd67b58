"""The core under a cassette (and, to record, the mock it books into), as subprocesses on free ports.

harness.stack starts `python -m booking_core`; recording and replay need the same core started as
`python -m replay.serve`, where vcrpy wraps the process. Children run in a work
folder of their own, so neither a developer's `.env` nor the current folder's packages leak in.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from harness.stack import CALCOM_TEST_KEY, RETELL_TEST_KEY, StackError, free_port

START_TIMEOUT_S = 40.0
# The core drains background work (compensation retries) before vcrpy writes the cassette.
STOP_TIMEOUT_S = 25.0
_INHERITED_OUT = ("DATABASE_URL", "REDIS_URL", "CALCOM_BASE_URL", "CALCOM_API_KEY", "RETELL_API_KEY",
                  "CALCOM_CASSETTE", "CALCOM_CASSETTE_MODE", "CALCOM_CASSETTE_REPORT", "CALLSIM_KEEP_PII")


class _Child:
    def __init__(self, name: str, args: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        base = {k: v for k, v in os.environ.items() if k not in _INHERITED_OUT}
        self.popen = subprocess.Popen(args, env={**base, **env}, cwd=workdir, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    def tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.popen.poll() is not None:
                    raise StackError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
                try:
                    if (await client.get(url, timeout=1)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise StackError(f"{self.name} not ready at {url} after {START_TIMEOUT_S:.0f} s:\n{self.tail()}")

    async def stop(self) -> None:
        """SIGTERM and wait: a graceful stop is what writes the cassette."""
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                await asyncio.to_thread(self.popen.wait, STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                await asyncio.to_thread(self.popen.wait, 5)
            except ProcessLookupError:
                pass
        self._log.close()


@asynccontextmanager
async def running_mock(workdir: Path, seed: int = 7, api_key: str = CALCOM_TEST_KEY) -> AsyncIterator[str]:
    port = free_port()
    child = _Child("mock_calcom", [sys.executable, "-m", "mock_calcom", "--port", str(port), "--seed", str(seed),
                                   "--api-key", api_key], {}, workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        await child.wait_ready(f"{url}/_control/health")
        yield url
    finally:
        await child.stop()


@asynccontextmanager
async def core_under_cassette(cassette: Path, mode: str, *, calcom_url: str, workdir: Path,
                              database_url: str | None = None, calcom_api_key: str = CALCOM_TEST_KEY,
                              retell_api_key: str = RETELL_TEST_KEY, report: Path | None = None,
                              extra_env: dict[str, str] | None = None) -> AsyncIterator[str]:
    """Yield the webhook URL of a core whose Cal.com traffic is recorded to / served from `cassette`.

    The cassette is complete (record) or the report written (replay) once this context has exited.
    """
    port = free_port()
    # Absolute, as the child runs in `workdir`; computing a path name does not block.
    cassette_path, report_path = os.path.abspath(cassette), os.path.abspath(report) if report else None  # noqa: ASYNC240
    env = {
        "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{workdir / 'callsim.db'}",
        "CALCOM_BASE_URL": calcom_url,
        "CALCOM_API_KEY": calcom_api_key,
        "RETELL_API_KEY": retell_api_key,
        "SERVICES_SYNC_ON_START": "true",
        "CALLSIM_TEST_HOOKS": "1",
        # The reconciler and the slots cache are timed by the wall clock, not by the call: a cassette
        # must not depend on how fast it was recorded or is replayed.
        "RECONCILE_INTERVAL_S": "0",
        "SLOTS_CACHE_S": "0",
        "LOG_LEVEL": "WARNING",
        "CALCOM_CASSETTE": cassette_path,
        "CALCOM_CASSETTE_MODE": mode,
        **({"CALCOM_CASSETTE_REPORT": report_path} if report_path else {}),
        **(extra_env or {}),
    }
    child = _Child("booking_core", [sys.executable, "-m", "replay.serve", "--host", "127.0.0.1",
                                    "--port", str(port)], env, workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        await child.wait_ready(f"{url}/readyz")
        yield url
    finally:
        await child.stop()
    if child.popen.returncode != 0:  # the cassette (or the report) was not written
        raise StackError(f"booking_core under cassette ended with {child.popen.returncode}:\n{child.tail()}")
