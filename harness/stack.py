"""The system under test: started here as subprocesses on free ports, or reached by URL.

Embedded default: mock_calcom plus booking_core on 127.0.0.1, SQLite in a temporary folder, the
in-process lock. `--database-url` / `--redis-url` swap in real services; `--webhook-url` and
`--calcom-url` point at something already running (staging).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

CALCOM_TEST_KEY = "cal_test_key"
RETELL_TEST_KEY = "key_callsim_retell_test"
START_TIMEOUT_S = 40.0
RECONCILE_TIMEOUT_S = 60.0


class StackError(Exception):
    pass


@dataclass
class StackOptions:
    webhook_url: str | None = None
    calcom_url: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    calcom_api_key: str = CALCOM_TEST_KEY
    retell_api_key: str | None = None
    workers: int = 1
    seed: int = 7
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Target:
    webhook_url: str
    calcom_url: str
    database_url: str | None
    calcom_api_key: str
    retell_api_key: str | None
    log_dir: Path | None = None
    redis_url: str | None = None

    async def reconcile(self) -> dict[str, Any]:
        """Run the operators' reconciler once (`callsim reconcile`), as an operator would."""
        if not self.database_url:
            raise StackError("reconcile needs the core's database (--database-url)")
        env = _child_env({"DATABASE_URL": self.database_url, "CALCOM_BASE_URL": self.calcom_url,
                          "CALCOM_API_KEY": self.calcom_api_key, "LOG_LEVEL": "WARNING",
                          **({"REDIS_URL": self.redis_url} if self.redis_url else {})})
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callsim", "reconcile", "--database-url", self.database_url,
            "--calcom-url", self.calcom_url, "--api-key", self.calcom_api_key, "--grace-s", "0",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            out, err = await asyncio.wait_for(process.communicate(), RECONCILE_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise StackError(f"callsim reconcile did not finish within {RECONCILE_TIMEOUT_S:.0f} s") from None
        # The core logs to stdout too; the report is the JSON document that ends the output.
        text = out.decode(errors="replace")
        start = text.rfind("\n{\n")
        try:
            report: dict[str, Any] = json.loads(text[start + 1:] if start >= 0 else text)
        except ValueError:
            raise StackError(f"callsim reconcile failed ({process.returncode}): {(out + err).decode()[-800:]}") from None
        return report


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Process:
    """A child in its own process group, so uvicorn's workers go down with it."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(args, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
                self.popen.wait(timeout=8)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
            except ProcessLookupError:
                pass
        self._log.close()


async def _wait_ready(process: _Process, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise StackError(f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}")
            try:
                if (await client.get(url, timeout=1)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise StackError(f"{process.name} not ready at {url} after {START_TIMEOUT_S:.0f} s:\n{process.tail()}")


def _child_env(overrides: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "CALCOM_BASE_URL", "CALCOM_API_KEY", "RETELL_API_KEY")}
    env.update(overrides)
    return env


@asynccontextmanager
async def open_target(options: StackOptions) -> AsyncIterator[Target]:
    """Yield URLs of a running core and Cal.com, starting whatever was not given."""
    if options.webhook_url:
        if not options.calcom_url:
            raise StackError("--webhook-url needs --calcom-url (the Cal.com the webhook books into)")
        yield Target(options.webhook_url, options.calcom_url, options.database_url, options.calcom_api_key,
                     options.retell_api_key, redis_url=options.redis_url)
        return
    workdir = Path(tempfile.mkdtemp(prefix="callsim-"))
    log_dir = options.log_dir or workdir
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: list[_Process] = []
    try:
        calcom_url = options.calcom_url
        if not calcom_url:
            port = free_port()
            mock = _Process("mock_calcom", [sys.executable, "-m", "mock_calcom", "--port", str(port),
                                            "--seed", str(options.seed), "--api-key", options.calcom_api_key],
                            _child_env({}), log_dir / "mock_calcom.log")
            processes.append(mock)
            calcom_url = f"http://127.0.0.1:{port}"
            await _wait_ready(mock, f"{calcom_url}/_control/health")
        database_url = options.database_url or f"sqlite+aiosqlite:///{workdir / 'callsim.db'}"
        retell_key = options.retell_api_key or RETELL_TEST_KEY
        env = {
            "DATABASE_URL": database_url,
            "CALCOM_BASE_URL": calcom_url,
            "CALCOM_API_KEY": options.calcom_api_key,
            "SERVICES_SYNC_ON_START": "true",
            "RETELL_API_KEY": retell_key,
            "CALLSIM_TEST_HOOKS": "1",
            "LOG_LEVEL": "WARNING",
            **options.extra_env,
        }
        if options.redis_url:
            env["REDIS_URL"] = options.redis_url
        port = free_port()
        core = _Process("booking_core", [sys.executable, "-m", "booking_core", "--host", "127.0.0.1",
                                         "--port", str(port), "--workers", str(options.workers)],
                        _child_env(env), log_dir / "booking_core.log")
        processes.append(core)
        webhook_url = f"http://127.0.0.1:{port}"
        await _wait_ready(core, f"{webhook_url}/readyz")
        yield Target(webhook_url, calcom_url, database_url, options.calcom_api_key, retell_key, log_dir,
                     options.redis_url)
    finally:
        for process in reversed(processes):
            process.stop()
