"""`callsim record`: write a replayable cassette of a call (see replay/files.py).

`--scenario NAME` runs one scenario from scenarios/ through the real stack (mock_calcom, the core,
the simulated agent and the harness runner) and writes <out>/<NAME>/ — a scenario whose calls build
on each other (book, then cancel) stays one cassette, since replay starts from an empty database.
`--proxy` records a running webhook instead: <out>/<call_id>/caller.yaml per call; run that core
as `python -m replay.serve` with CALCOM_CASSETTE=<out> to get each call's
calcom.yaml next to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from harness.results import RunResult
from harness.runner import run_suite
from harness.scenario import Scenario, ScenarioError, load_scenarios
from harness.stack import CALCOM_TEST_KEY, RETELL_TEST_KEY, StackError, StackOptions
from replay.cassette import CALCOM_FILE, CassetteSettings
from replay.files import CALLER_FILE
from replay.filters import Scrubber
from replay.proxy import proxy_app
from replay.session import cassette_session
from replay.stack import core_under_cassette, running_mock

DEFAULT_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _scrubber(keep_pii: bool, secrets: list[str | None]) -> Scrubber:
    return Scrubber(secrets, keep_pii, CassetteSettings().callsim_pii_key)


async def record_scenario(scenario: Scenario, folder: Path, keep_pii: bool = False, seed: int = 7) -> RunResult:
    """Run `scenario` once with both sides recorded into `folder` (caller.yaml, calcom.yaml)."""
    with tempfile.TemporaryDirectory(prefix="callsim-record-", ignore_cleanup_errors=True) as folder_name:
        workdir = Path(folder_name)
        database_url = f"sqlite+aiosqlite:///{workdir / 'callsim.db'}"
        core_env = {"CALLSIM_KEEP_PII": "1"} if keep_pii else {}
        scrubber = _scrubber(keep_pii, [CALCOM_TEST_KEY, RETELL_TEST_KEY])
        async with running_mock(workdir, seed) as calcom_url, core_under_cassette(
                folder / CALCOM_FILE, "record", calcom_url=calcom_url, workdir=workdir, database_url=database_url,
                extra_env=core_env) as webhook_url:
            with cassette_session(folder / CALLER_FILE, "record", scrubber=scrubber,
                                  keep=lambda request: request.uri.startswith(f"{webhook_url}/api/retell/"),
                                  metadata={"side": "caller", "scenario": scenario.name,
                                            "description": scenario.description}) as session:
                run = await run_suite([scenario], StackOptions(webhook_url=webhook_url, calcom_url=calcom_url,
                                                               database_url=database_url,
                                                               retell_api_key=RETELL_TEST_KEY))
                result = run.scenarios[0] if run.scenarios else None
                session.cassette.get_metadata("outcome", result.outcome if result else "not run")
                session.cassette.get_metadata("calls", [c.call_id for c in result.calls] if result else [])
    return run


def _find(name: str, paths: list[Path]) -> Scenario:
    found = [s for s in load_scenarios(paths) if s.name == name]
    if not found:
        raise ScenarioError(f"no scenario named {name!r} in {', '.join(map(str, paths))}")
    return found[0]


def _stop_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def record_proxy(webhook_url: str, listen_port: int, out: Path, keep_pii: bool, console: Console) -> None:
    import uvicorn

    upstream = webhook_url.rstrip("/")
    with cassette_session(out, "record", scrubber=_scrubber(keep_pii, []), per_call_file=CALLER_FILE,
                          keep=lambda request: request.uri.startswith(f"{upstream}/api/retell/"),
                          metadata={"side": "caller", "webhook_url": upstream}) as session:
        console.print(f"recording proxy on http://127.0.0.1:{listen_port} → {upstream}; point Retell's function "
                      f"and webhook URLs here. Ctrl-C writes {out}/<call_id>/{CALLER_FILE}.", highlight=False)
        # uvicorn re-raises the stop signal once shut down; unwinding instead lets vcrpy save.
        signal.signal(signal.SIGTERM, _stop_cleanly)
        signal.signal(signal.SIGINT, _stop_cleanly)
        with contextlib.suppress(SystemExit):  # stopped by a signal: leaving the session writes the cassettes
            uvicorn.run(proxy_app(upstream, session.calls), host="127.0.0.1", port=listen_port, log_level="warning")
    console.print(f"recorded {len(session.calls)} call(s) into {out}", highlight=False)


def record_command(
    scenario: Annotated[str | None, typer.Option("--scenario", help="Name of the scenario to run and record.")] = None,
    scenarios: Annotated[list[Path] | None, typer.Option("--scenarios", help="Scenario files or folders to look "
                                                                             "the name up in.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Cassettes go into <out>/<scenario or call id>/.")] = Path(
        "cassettes"),
    keep_pii: Annotated[bool, typer.Option("--keep-pii", help="Keep callers' phone numbers (default: "
                                                              "pseudonymised before writing).")] = False,
    proxy: Annotated[bool, typer.Option("--proxy", help="Record a running webhook through a reverse proxy.")] = False,
    webhook_url: Annotated[str | None, typer.Option(help="--proxy: the webhook to forward to.")] = None,
    listen_port: Annotated[int, typer.Option(help="--proxy: port the proxy listens on.")] = 8100,
    seed: Annotated[int, typer.Option(help="Seed of the started mock_calcom.")] = 7,
) -> None:
    """Record a call to a cassette (caller side and Cal.com side) for `callsim replay`."""
    console = Console()
    if proxy:
        if not webhook_url:
            console.print("[red]--proxy needs --webhook-url[/red]")
            raise typer.Exit(2)
        record_proxy(webhook_url, listen_port, out, keep_pii, console)
        return
    if not scenario:
        console.print("[red]give --scenario NAME (or --proxy --webhook-url URL)[/red]")
        raise typer.Exit(2)
    try:
        chosen = _find(scenario, scenarios or [Path("scenarios") if Path("scenarios").is_dir() else DEFAULT_SCENARIOS])
    except ScenarioError as error:
        console.print(f"[red]scenario error:[/red] {error}", highlight=False)
        raise typer.Exit(2) from None
    folder = out / chosen.name
    try:
        run = asyncio.run(record_scenario(chosen, folder, keep_pii, seed))
    except (StackError, OSError) as error:
        console.print(f"[red]recording failed:[/red] {error}", highlight=False)
        raise typer.Exit(2) from None
    if run.errors:
        console.print(f"[red]recording failed:[/red] {'; '.join(run.errors)}", highlight=False)
        raise typer.Exit(2)
    result = run.scenarios[0]
    verdict = "[green]passed[/green]" if result.passed else "[yellow]failed its expectations[/yellow]"
    console.print(f"scenario {chosen.name}: {result.outcome}, {verdict}", highlight=False)
    for failure in result.failures:
        console.print(f"  [yellow]{failure}[/yellow]", highlight=False)
    console.print(f"recorded: {folder}", highlight=False)
