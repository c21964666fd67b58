"""The HTML report: verdicts, latency charts (inline SVG) and the transcript of every failed call."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from harness.reporting.chart import TARGET_MS, bar_chart, histogram
from harness.results import RunResult

_TEMPLATES = Path(__file__).parent / "templates"


def render_html(run: RunResult) -> str:
    env = Environment(loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    rows = [(s.name, s.client_latency.value_ms) for s in run.scenarios
            if s.client_latency and s.client_latency.value_ms is not None]
    samples = [f.client_ms for s in run.scenarios for c in s.calls for f in c.functions if f.client_ms is not None]
    failed_calls = []
    for scenario in run.scenarios:
        if scenario.passed:
            continue
        broken = {c for v in scenario.violations for c in v.call_ids}
        failing = [c for c in scenario.calls if c.call_id in broken] or scenario.calls[:3]
        failed_calls.append((scenario, failing[:5]))
    return env.get_template("report.html.j2").render(
        run=run, scenario_chart=bar_chart(rows), histogram=histogram(samples), target_ms=TARGET_MS,
        failed_calls=failed_calls)


def write_html(run: RunResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(run), encoding="utf-8")
