"""docs/benchmarks.md is assembled from marked sections, each rewritten by the command that measures it
(`make bench` the benchmark, `python -m load.run PROFILE --record` a load profile), so one command's
figures never erase another's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

TITLE = "# Benchmarks\n\nMeasured on this project's reference machine; regenerate rather than edit by hand.\n"
# Sections in the order they appear in the file; a key ordered by its first known prefix.
ORDER = ("bench", "load:race-storm", "load:cal-degraded", "load:peak", "load:smoke")


def _rank(key: str) -> int:
    return next((i for i, known in enumerate(ORDER) if key == known or key.startswith(f"{known}:")), len(ORDER))


def stack_shape(database: str, redis: bool, workers: int) -> str:
    """A section key's stack part, e.g. `postgresql-redis-2w`: one section per profile and shape, so
    the embedded default and a scale-out run sit side by side."""
    return f"{database.split()[0].lower()}-{'redis' if redis else 'inprocess'}-{workers}w"


def _marks(key: str) -> tuple[str, str]:
    return f"<!-- {key}:start -->", f"<!-- {key}:end -->"


def replace_section(path: Path, key: str, markdown: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    start, end = _marks(key)
    block = f"{start}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        # Before the first section that ranks after this one, else at the end.
        present = re.findall(r"<!-- (\S+):start -->", text)
        positions = [text.find(_marks(k)[0]) for k in present if _rank(k) > _rank(key)]
        if positions:
            at = min(positions)
            text = f"{text[:at]}{block}\n\n{text[at:]}"
        else:
            text = f"{text.rstrip()}\n\n{block}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def load_run_section(figures: dict[str, Any], setup: dict[str, Any]) -> str:
    """A `make load` run's record (its *_gates.json) as markdown."""
    mix = ", ".join(f"{kind} {rate:.0%}" for kind, rate in (figures.get("fault_mix") or {}).items()) or "none"
    lines = [f"## Load profile `{figures['profile']}` ({setup['database']}, {setup['lock']} lock, "
             f"{setup['core workers']} core worker(s))", "",
             f"{figures['users']} callers for {figures['run_time']} s ({figures.get('at', '')[:16]} UTC): "
             f"{figures['requests']} requests, {figures['failures']} failures; "
             + ", ".join(f"{k} {v}" for k, v in setup.items()) + ".",
             f"Cal.com faults (share of all Cal.com requests): {mix}; mock race window "
             f"{figures.get('race_window_ms', 0)} ms.", "",
             "| function | answers | P50 ms | P95 ms | P99 ms | max ms | outcomes |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name, row in figures.get("latency", {}).items():
        outcomes = ", ".join(f"{k} {v}" for k, v in figures.get("outcomes", {}).get(name, {}).items())
        lines.append(f"| {name} | {row['count']:.0f} | {_ms(row['p50_ms'])} | {_ms(row['p95_ms'])} | "
                     f"{_ms(row['p99_ms'])} | {_ms(row['max_ms'])} | {outcomes} |")
    lock = figures.get("lock")
    if lock:
        wait = lock.get("wait_p95_s")
        lines += ["", f"Lock (core /metrics, {lock['workers']} worker(s)): acquired {lock['acquired']:.0f}, "
                      f"contended {lock['contended']:.0f}, unavailable {lock['unavailable']:.0f}"
                      + (f", lock wait P95 ≤ {wait * 1000:.0f} ms" if wait is not None else "") + "."]
    invariants = figures.get("invariants")
    if invariants:
        counts = invariants.get("counts") or {}
        lines += ["", f"Invariants after reconcile: {invariants.get('bookings')} Cal.com bookings in the ledger "
                      f"({invariants.get('active_bookings')} active), {invariants.get('appointments')} DB rows; "
                      + (", ".join(f"{k} {v}" for k, v in counts.items()) if counts else "no violations") + "."]
    lines += ["", "Gates:", ""]
    marks = {True: "pass", False: "**FAIL**", None: "–"}
    lines += [f"- {marks[g['passed']]} {g['name']}: {g['detail']}" for g in figures.get("gates", [])]
    lines.append(f"\nExit code {figures.get('exit_code')}.")
    return "\n".join(lines)
