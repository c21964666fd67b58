"""The gates a load run must pass, each with the reason it passed or failed.

Latency and failures come from what the load generator measured, lock behaviour from what callers
heard (and, for the record, the core's /metrics), invariants from Cal.com's ledger and the DB after
reconciliation (`callsim check`). The core's own counters never decide a gate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from harness.invariants import claims_booked
from load.answers import AnswerLog
from load.core_metrics import LockFigures
from load.profiles import Profile

CHANGING = ("book_appointment", "reschedule_appointment")


@dataclass(frozen=True)
class Gate:
    name: str
    passed: bool | None  # None: could not be checked here (said why in detail)
    detail: str


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the samples at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def latency_gates(log: AnswerLog, profile: Profile) -> list[Gate]:
    gates = []
    for name, row in latency_table(log).items():
        budget = profile.budget(name)
        ok = row["p95_ms"] <= budget.p95_ms and row["p99_ms"] <= budget.p99_ms
        gates.append(Gate(f"latency {name}", ok,
                          f"P95 {row['p95_ms']:.0f} ms (≤ {budget.p95_ms:.0f}), P99 {row['p99_ms']:.0f} ms "
                          f"(≤ {budget.p99_ms:.0f}) over {row['count']:.0f} answers"))
    return gates


def latency_table(log: AnswerLog) -> dict[str, dict[str, float]]:
    """Per function: answers, P50/P95/P99/max in ms (as the callers' side measured them)."""
    by_function: dict[str, list[float]] = {}
    for h in log.heard:
        by_function.setdefault(h.name, []).append(h.response_ms)
    return {name: {"count": len(values), "p50_ms": percentile(values, 0.50), "p95_ms": percentile(values, 0.95),
                   "p99_ms": percentile(values, 0.99), "max_ms": max(values)}
            for name, values in sorted(by_function.items())}


def outcome_table(log: AnswerLog) -> dict[str, dict[str, int]]:
    """Per function: how often each outcome ("ok" or the error code) was heard."""
    table: dict[str, dict[str, int]] = {}
    for (name, outcome), count in sorted(log.outcomes().items()):
        table.setdefault(name, {})[outcome] = count
    return table


def failure_gate(requests: int, failures: int, profile: Profile, reasons: dict[str, int]) -> Gate:
    if requests == 0:
        return Gate("failure ratio", False, "no requests were made")
    ratio = failures / requests
    worst = ", ".join(f"{reason} ×{count}" for reason, count in sorted(reasons.items(), key=lambda r: -r[1])[:4])
    return Gate("failure ratio", ratio <= profile.max_failure_ratio,
                f"{failures} of {requests} ({ratio:.2%}, ≤ {profile.max_failure_ratio:.2%})"
                + (f": {worst}" if worst else ""))


def booked_count(log: AnswerLog) -> int:
    return sum(1 for h in log.heard if h.success and h.name in CHANGING and claims_booked(h.message))


def booking_gate(log: AnswerLog, profile: Profile) -> Gate:
    booked = booked_count(log)
    return Gate("bookings made", booked >= profile.min_booked,
                f"{booked} callers heard \"gebucht\" (≥ {profile.min_booked}, else the run proved nothing)")


def coverage_gate(log: AnswerLog, profile: Profile) -> Gate | None:
    if not profile.must_succeed:
        return None
    succeeded = {h.name for h in log.heard if h.success}
    missing = [name for name in profile.must_succeed if name not in succeeded]
    return Gate("every function answered", not missing,
                f"missing a successful {', '.join(missing)}" if missing
                else f"all {len(profile.must_succeed)} functions succeeded at least once")


def lock_gates(log: AnswerLog, profile: Profile, figures: LockFigures | None,
               longest_booking_request_ms: float) -> list[Gate]:
    """`longest_booking_request_ms`: the slowest single book/reschedule request (one attempt)."""
    outcomes = log.outcomes()
    heard_busy = sum(n for (name, outcome), n in outcomes.items() if outcome == "lock_busy")
    heard_taken = sum(n for (name, outcome), n in outcomes.items() if outcome == "slot_taken")
    unavailable = sum(n for (name, outcome), n in outcomes.items() if outcome == "lock_unavailable")
    ttl_ms = profile.lock_ttl_s * 1000
    # A lock lives only inside one booking request: a request over before the TTL released its lock
    # before the TTL. One that took longer (or was given up on) may have outlived it.
    gates = [Gate("lock released within TTL", longest_booking_request_ms < ttl_ms,
                  f"slowest booking request {longest_booking_request_ms:.0f} ms (< TTL {ttl_ms:.0f} ms)"),
             Gate("lock service up", unavailable == 0, f"{unavailable} answers \"lock_unavailable\"")]
    contended = log.contention_ms()
    if contended:
        p95 = percentile(contended, 0.95)
        gates.append(Gate("contention answered fast", p95 <= profile.contention_p95_ms,
                          f"P95 {p95:.0f} ms (≤ {profile.contention_p95_ms:.0f}) over {len(contended)} "
                          f"refusals ({heard_busy} lock_busy, {heard_taken} slot_taken)"))
    else:
        gates.append(Gate("contention answered fast", None, "no caller lost a slot to another"))
    if figures is not None:
        gates.append(Gate("lock figures (core /metrics)", None, figures.describe()))
    return gates


def invariant_gates(summary: dict[str, Any] | None, why_not: str = "") -> list[Gate]:
    """From `callsim check` JSON after `callsim reconcile`."""
    if summary is None:
        return [Gate("invariants", None, why_not or "not checked")]
    if "error" in summary:
        return [Gate("invariants", False, f"check could not read its sources: {summary['error']}")]
    doubles = summary.get("double_bookings", {})

    def gate(name: str, items: list[dict[str, Any]]) -> Gate:
        shown = "; ".join(str(i.get("detail")) for i in items[:3])
        more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
        return Gate(name, not items, f"{len(items)}" + (f": {shown}{more}" if items else ""))

    return [
        gate("orphans", summary.get("orphans", [])),
        gate("double bookings (Cal.com, active)", doubles.get("calcom", [])),
        gate("double bookings (Cal.com, transient)", doubles.get("calcom_transient", [])),
        gate("double bookings (DB)", doubles.get("db", [])),
        gate("ghosts", summary.get("ghosts", [])),
        gate("truthfulness (\"gebucht\" backed by a booking)", summary.get("truthfulness", [])),
    ]


def verdict(gates: Sequence[Gate]) -> int:
    """Locust's process exit code: 1 when any gate failed."""
    return 1 if any(g.passed is False for g in gates) else 0


def render(gates: Sequence[Gate], profile_name: str) -> str:
    marks = {True: "PASS", False: "FAIL", None: "----"}
    failed = [g for g in gates if g.passed is False]
    lines = [f"load gates ({profile_name}):"]
    lines += [f"  {marks[g.passed]}  {g.name}: {g.detail}" for g in gates]
    lines.append(f"  => {len(failed)} gate(s) failed: {', '.join(g.name for g in failed)}" if failed
                 else "  => all gates passed")
    return "\n".join(lines)


def as_json(gates: Sequence[Gate]) -> list[dict[str, Any]]:
    return [asdict(g) for g in gates]
