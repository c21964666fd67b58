"""Start `python -m mock_calcom` as a subprocess on a free port and wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_mock(*args: str, startup_timeout_s: float = 15.0) -> Iterator[str]:
    """Yield the base URL of a mock started with extra CLI `args`; stop it afterwards."""
    port = free_port()
    # A file, not a pipe: a long run's log must never fill a pipe nobody reads and stall the server.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mock_calcom", "--port", str(port), *args],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(process, base_url, startup_timeout_s, log)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_until_up(
    process: subprocess.Popen[bytes], base_url: str, timeout_s: float, log: IO[bytes]
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(
                f"mock_calcom exited with {process.returncode}: {log.read().decode()}"
            )
        try:
            if httpx.get(f"{base_url}/_control/health", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"mock_calcom did not come up on {base_url} within {timeout_s} s")
