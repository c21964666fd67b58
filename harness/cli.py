"""`callsim run` and `callsim check`. The top-level CLI mounts these two functions."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.explain import describe, explain_scenario
from harness.invariants import find_violations, summary, take_snapshot
from harness.reporting.console import print_run
from harness.reporting.html import write_html
from harness.reporting.json_report import write_json
from harness.reporting.junit import write_junit
from harness.results import CallRecord, ScenarioResult
from harness.runner import RunOptions, run_suite
from harness.scenario import Scenario, ScenarioError, load_scenarios
from harness.stack import CALCOM_TEST_KEY, StackOptions

# Piped output (CI logs, make demo | tee) gets a table wide enough for the scenario names.
console = Console(width=None if sys.stdout.isatty() else 132)


def run(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders (*.yaml).")],
    pattern: Annotated[str | None, typer.Option("-k", help="Only scenarios whose name or tag contains this "
                                                            "(or matches this glob).")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML here.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the full run as JSON here.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML report here.")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="A running webhook (else one is started).")] = None,
    calcom_url: Annotated[str | None, typer.Option(help="Cal.com or mock_calcom base URL (else a mock is "
                                                        "started).")] = None,
    database_url: Annotated[str | None, typer.Option(help="The core's DB (else SQLite in a temp folder).")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis for the core's lock (else in-process).")] = None,
    calcom_api_key: Annotated[str, typer.Option(envvar="CALCOM_API_KEY")] = CALCOM_TEST_KEY,
    retell_api_key: Annotated[str | None, typer.Option(envvar="RETELL_API_KEY",
                                                       help="Sign requests with this key.")] = None,
    workers: Annotated[int, typer.Option(help="Webhook worker processes to start.")] = 1,
    parallel: Annotated[int, typer.Option(help="Scenarios run side by side.")] = 6,
    start_week: Annotated[int, typer.Option(help="Move all scenario clocks this many weeks ahead (to re-run "
                                                 "against a DB that keeps earlier runs).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the started mock.")] = 7,
    log_dir: Annotated[Path | None, typer.Option(help="Keep the started servers' logs here.")] = None,
    explain_first: Annotated[bool, typer.Option("--explain", help="First show how the agent reads every turn "
                                                                  "(as `callsim explain`).")] = False,
) -> None:
    """Simulate the scenario phone calls against the webhook and check outcomes and invariants."""
    try:
        scenarios = load_scenarios(paths, pattern)
    except ScenarioError as error:
        console.print(f"[red]scenario error:[/red] {error}", highlight=False)
        raise typer.Exit(2) from None
    if not scenarios:
        console.print(f"[red]no scenario matches[/red] {pattern!r} in {', '.join(map(str, paths))}")
        raise typer.Exit(2)
    if explain_first:
        _print_explanation(scenarios)
    stack = StackOptions(webhook_url=webhook_url, calcom_url=calcom_url, database_url=database_url,
                         redis_url=redis_url, calcom_api_key=calcom_api_key, retell_api_key=retell_api_key,
                         workers=workers, seed=seed, log_dir=log_dir)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=not console.is_terminal) as progress:
        task = progress.add_task("calls", total=len(scenarios))

        def advance(result: ScenarioResult) -> None:
            progress.update(task, advance=1, description=result.name)

        result = asyncio.run(run_suite(scenarios, stack, RunOptions(parallel=parallel, start_week=start_week),
                                       advance))
    print_run(result, console)
    for path, write in ((junit, write_junit), (json_out, write_json), (html, write_html)):
        if path is not None:
            write(result, path)
            console.print(f"wrote {path}")
    if not result.passed:
        raise typer.Exit(1)


def _answers(path: Path) -> list[CallRecord]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [CallRecord.model_validate(call) for scenario in data.get("scenarios", []) for call in scenario["calls"]]


def check(
    calcom_url: Annotated[str, typer.Option(help="Cal.com or mock_calcom base URL.")],
    database_url: Annotated[str | None, typer.Option(help="The core's DB; without it only Cal.com-side "
                                                          "double bookings are checked.")] = None,
    api_key: Annotated[str, typer.Option(envvar="CALCOM_API_KEY", help="Cal.com API key.")] = CALCOM_TEST_KEY,
    answers: Annotated[Path | None, typer.Option(help="JSON of a `callsim run` (--json): also check that "
                                                      "every caller was told the truth.")] = None,
) -> None:
    """Orphans, double bookings (Cal.com and DB side) and ghosts, from Cal.com's own listing and the DB.

    Prints JSON; exit code 1 when any invariant is broken, 2 when a source cannot be read.
    """
    try:
        snapshot = asyncio.run(take_snapshot(calcom_url, api_key, database_url))
        calls = _answers(answers) if answers else None
    except Exception as error:  # any unreadable source is a failed check, said plainly
        print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}, ensure_ascii=False))
        raise typer.Exit(2) from None
    violations = find_violations(snapshot, calls)
    print(json.dumps(summary(snapshot, violations), ensure_ascii=False, indent=2))
    sys.stdout.flush()
    if violations:
        raise typer.Exit(1)


app = typer.Typer(help="Call simulator and invariant checker.", no_args_is_help=True)
app.command("run")(run)
app.command("check")(check)


def _print_explanation(scenarios: list[Scenario]) -> int:
    unplaced = 0
    for scenario in scenarios:
        console.print(f"[bold]{scenario.name}[/bold] [dim]({scenario.source}, args: {scenario.policy.args})[/dim]")
        for index, readings in enumerate(explain_scenario(scenario)):
            if len(scenario.calls) > 1:
                console.print(f"  call {index + 1}")
            for reading in readings:
                seen = describe(reading.reading)
                unplaced += bool(seen["unplaced"])
                console.print(f"  [cyan]Anrufer:[/cyan] {reading.turn}", highlight=False)
                parts = [f"{key}={value!r}" for key, value in seen.items() if value and key != "unplaced"]
                console.print(f"    gelesen: {', '.join(parts) or '–'}", highlight=False)
                if seen["unplaced"]:
                    console.print(f"    [red]nicht eingeordnet: {', '.join(seen['unplaced'])}[/red]", highlight=False)
                for call in reading.calls:
                    console.print(f"    → {call.name}({json.dumps(call.args, ensure_ascii=False)})", highlight=False)
                console.print(f"    [dim]Agentin: {reading.answer}[/dim]", highlight=False)
    console.print(f"{len(scenarios)} scenarios, {unplaced} turns with unplaced words")
    return unplaced


def explain(
    paths: Annotated[list[Path], typer.Argument(help="Scenario files or folders (*.yaml).")],
    pattern: Annotated[str | None, typer.Option("-k", help="Only scenarios whose name or tag contains this.")] = None,
) -> None:
    """Show how the simulated agent reads every caller turn and which calls it would make (no server).

    Exit code 1 when a turn holds words the agent could not place (it would ask back there).
    """
    try:
        scenarios = load_scenarios(paths, pattern)
    except ScenarioError as error:
        console.print(f"[red]scenario error:[/red] {error}", highlight=False)
        raise typer.Exit(2) from None
    if _print_explanation(scenarios):
        raise typer.Exit(1)


app.command("explain")(explain)
