"""The rich console table and the closing verdict."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from harness.results import RunResult, ScenarioResult


def _invariants_cell(result: ScenarioResult) -> str:
    broken = sorted({v.invariant for v in result.violations if v.invariant in result.invariants_checked})
    if broken:
        return "[red]" + ", ".join(broken) + "[/red]"
    return "[green]ok[/green]" if result.invariants_checked else "–"


def scenario_table(run: RunResult) -> Table:
    table = Table(title=f"callsim: {len(run.scenarios)} scenarios in {run.duration_s:.1f} s", show_lines=False)
    table.add_column("scenario")
    table.add_column("outcome")
    table.add_column("turns", justify="right")
    table.add_column("latency (client)", justify="right")
    table.add_column("invariants")
    table.add_column("result")
    for result in run.scenarios:
        latency = result.client_latency.label() if result.client_latency else "–"
        verdict = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
        table.add_row(result.name + (" ⚑" if result.ran_alone else ""), result.outcome or "–", str(result.turns),
                      latency, _invariants_cell(result), verdict)
    return table


def print_run(run: RunResult, console: Console) -> None:
    console.print(scenario_table(run))
    if run.client_latency:
        figures = ", ".join(f"{name} {summary.label()} (n={summary.samples})"
                            for name, summary in run.client_latency.items())
        console.print(f"function latency, client side: {figures}")
    if run.phases_s:
        console.print("time: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.phases_s.items()))
    failed = [s for s in run.scenarios if not s.passed]
    if run.passed:
        console.print(f"[bold green]all {len(run.scenarios)} scenarios passed[/bold green] (⚑ = ran alone)")
        return
    console.print(f"[bold red]{len(failed)} of {len(run.scenarios)} scenarios failed[/bold red]")
    for line in run.failure_lines():
        console.print(f"[red]✗[/red] {line}", markup=True, highlight=False)
