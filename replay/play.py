"""`callsim replay CASSETTE [--strict]`: a recorded call against the current core, offline.

The core starts under the cassette (vcrpy, record mode "none": Cal.com is served from calcom.yaml,
nothing reaches the network, no mock runs), the caller side is sent again in the recorded order
(same bodies, so the same call start_timestamp and the same relative dates), and each answer is
compared with the recorded one. Exit 0: identical. Exit 1: an answer diverged, or with --strict
also a Cal.com request the cassette does not hold or a recorded exchange left unused. Exit 2: the
cassette or the core could not be used.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from harness.retell import sign
from harness.stack import StackError
from replay.diff import Step, answer_view, compare, render
from replay.files import CassetteError, Exchange, Recording, open_recording
from replay.filters import SIGNATURE_HEADER
from replay.stack import core_under_cassette

REPLAY_RETELL_KEY = "key_callsim_replay"
REPLAY_CALCOM_KEY = "cal_replay_key"  # never checked: the cassette answers, whatever the key
ANSWER_TIMEOUT_S = 30.0
# Recorded headers that describe the old connection, or are re-made for this one.
_NOT_RESENT = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding", "user-agent",
               SIGNATURE_HEADER}


@dataclass
class ReplayResult:
    steps: list[Step]
    calcom: dict[str, Any] = field(default_factory=dict)

    @property
    def diverged(self) -> list[Step]:
        return [s for s in self.steps if not s.identical]

    @property
    def unmatched(self) -> list[dict[str, Any]]:
        return list(self.calcom.get("unmatched", []))

    @property
    def unused(self) -> list[dict[str, Any]]:
        return list(self.calcom.get("unused", []))

    def passed(self, strict: bool) -> bool:
        return not self.diverged and not (strict and (self.unmatched or self.unused))


def _signature(exchange: Exchange) -> str | None:
    """Signed anew where Retell had signed; a request the webhook refused for it is refused again."""
    if not any(k.lower() == SIGNATURE_HEADER for k in exchange.headers):
        return None
    return sign(REPLAY_RETELL_KEY, exchange.body) if exchange.status != 401 else "v=0,d=recorded-as-refused"


async def _send(client: httpx.AsyncClient, exchange: Exchange) -> dict[str, Any]:
    headers = {k: v for k, v in exchange.headers.items() if k.lower() not in _NOT_RESENT}
    signature = _signature(exchange)
    if signature:
        headers["X-Retell-Signature"] = signature
    # A recorded "no answer" was the caller giving up after so long; give the core the same time.
    timeout = exchange.waited_s if exchange.failure and exchange.waited_s else ANSWER_TIMEOUT_S
    try:
        async with asyncio.timeout(timeout):
            response = await client.request(exchange.method, exchange.target, content=exchange.body,
                                            headers=headers, timeout=timeout)
    except TimeoutError:
        return answer_view(None, b"", "ReadTimeout")
    except httpx.TransportError as error:
        return answer_view(None, b"", type(error).__name__)
    return answer_view(response.status_code, response.content, None)


@dataclass
class ReplayedCore:
    """A core serving Cal.com from the recording's calcom.yaml, and how that went."""

    client: httpx.AsyncClient
    calcom: dict[str, Any] = field(default_factory=dict)  # the cassette's report, once the core stopped


ReplayHost = Callable[[Recording], AbstractAsyncContextManager[ReplayedCore]]


@asynccontextmanager
async def core_process(recording: Recording, extra_env: dict[str, str] | None = None) -> AsyncIterator[ReplayedCore]:
    """The core as `callsim replay` runs it: `python -m replay.serve`, offline."""
    with tempfile.TemporaryDirectory(prefix="callsim-replay-", ignore_cleanup_errors=True) as folder:
        workdir = Path(folder)
        report = workdir / "calcom-report.json"
        async with (core_under_cassette(recording.calcom_path, "replay", calcom_url=recording.calcom_base_url,
                                        workdir=workdir, retell_api_key=REPLAY_RETELL_KEY,
                                        calcom_api_key=REPLAY_CALCOM_KEY, report=report,
                                        extra_env=extra_env) as url,
                    httpx.AsyncClient(base_url=url) as client):
            core = ReplayedCore(client)
            yield core
        core.calcom = json.loads(report.read_text(encoding="utf-8"))


async def replay_recording(recording: Recording, host: ReplayHost = core_process) -> ReplayResult:
    """Send the caller side again, in order, and compare every answer with the recorded one."""
    replayed: list[dict[str, Any]] = []
    async with host(recording) as core:
        for exchange in recording.exchanges:
            replayed.append(await _send(core.client, exchange))
    recorded = [answer_view(e.status, e.answer, e.failure) for e in recording.exchanges]
    return ReplayResult(compare([e.label for e in recording.exchanges], recorded, replayed), core.calcom)


def _print_calcom(console: Console, result: ReplayResult, strict: bool) -> None:
    calcom = result.calcom
    console.print(f"Cal.com: {calcom.get('played', 0)} of {calcom.get('recorded', 0)} recorded exchanges played, "
                  f"{len(result.unmatched)} request(s) not in the cassette")
    style = "red" if strict else "yellow"
    for item in result.unmatched:
        closest = "; ".join(f"{c['uri']} (differs in {', '.join(c['differs'])})" for c in item.get("closest", []))
        console.print(f"  [{style}]not in cassette:[/{style}] {item['method']} {item['uri']}"
                      + (f"\n    closest: {closest}" if closest else ""), highlight=False)
    for item in result.unused:
        console.print(f"  [{style}]never requested:[/{style}] {item['method']} {item['uri']}", highlight=False)


def replay_command(
    cassette: Annotated[Path, typer.Argument(help="A recorded call: the folder with caller.yaml and calcom.yaml.")],
    strict: Annotated[bool, typer.Option("--strict", help="Also fail on Cal.com requests the cassette does not "
                                                          "hold and on recorded exchanges never requested.")] = False,
) -> None:
    """Replay a recorded call against the current core, offline, and diff every answer."""
    console = Console()
    try:
        recording = open_recording(cassette)
    except CassetteError as error:
        console.print(f"[red]cassette error:[/red] {error}", highlight=False)
        raise typer.Exit(2) from None
    scenario = recording.metadata.get("scenario")
    console.print(f"Replaying [bold]{recording.folder}[/bold]" + (f" (scenario {scenario})" if scenario else "")
                  + f": {len(recording.exchanges)} webhook requests, {recording.calcom_exchanges} Cal.com exchanges",
                  highlight=False)
    try:
        result = asyncio.run(replay_recording(recording))
    except (StackError, OSError, ValueError) as error:
        console.print(f"[red]replay failed:[/red] {error}", highlight=False)
        raise typer.Exit(2) from None
    render(console, result.steps)
    _print_calcom(console, result, strict)
    if result.diverged:
        console.print(f"[bold red]DIVERGED[/bold red]: {len(result.diverged)} of {len(result.steps)} answers differ "
                      f"from the recording")
    elif not result.passed(strict):
        console.print("[bold red]DIVERGED[/bold red]: answers identical, but Cal.com traffic differs (--strict)")
    else:
        console.print(f"[bold green]IDENTICAL[/bold green]: all {len(result.steps)} answers as recorded")
    if not result.passed(strict):
        raise typer.Exit(1)
