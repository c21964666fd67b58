"""`make bench` figures as the markdown section of docs/benchmarks.md, with the issue's targets."""

from __future__ import annotations

from typing import Any

CONCURRENCY = (50, 200)
TARGET_RATIO = {"book_appointment": 0.10, "check_availability": 0.30}
TARGET_OVERHEAD_P95_MS = 20.0


def _ratios(phases: list[dict[str, Any]]) -> dict[tuple[str, int], float]:
    noop = {p["concurrency"]: p["ok_rps"] for p in phases if p["name"] == "noop"}
    return {(p["name"], p["concurrency"]): p["ok_rps"] / noop[p["concurrency"]]
            for p in phases if p["name"] != "noop" and noop.get(p["concurrency"])}


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _table(phases: list[dict[str, Any]], ratios: dict[tuple[str, int], float]) -> list[str]:
    lines = ["| endpoint | callers | answers/s | ok/s | × no-op | P50 ms | P95 ms | P99 ms | server P95 ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for p in phases:
        ratio = ratios.get((p["name"], p["concurrency"]))
        errors = ", ".join(f"{k} {v}" for k, v in p["error_kinds"].items()) or "0"
        lines.append(f"| {p['name']} | {p['concurrency']} | {p['throughput_rps']:.1f} | {p['ok_rps']:.1f} | "
                     f"{'–' if ratio is None else f'{ratio:.0%}'} | {p['p50_ms']:.1f} | {p['p95_ms']:.1f} | "
                     f"{p['p99_ms']:.1f} | {p['server_p95_ms']:.1f} | {errors} |")
    return lines


def render(figures: dict[str, Any], setup: dict[str, str]) -> str:
    phases, paced, storm, mock = figures["phases"], figures["paced"], figures["storm"], figures["mock"]
    calcom = figures["calcom_during_paced_check"]
    ratios = _ratios(phases)
    check = paced[1]
    overhead = check["server_p95_ms"] - calcom["per_call"] * calcom["p95_ms"]
    lines = [f"## Throughput and latency (`make bench`: {setup['database']}, {setup['lock']} lock, {setup['core']})", "",
             "; ".join(f"{k}: {v}" for k, v in setup.items()) + ".", "",
             f"### Latency: 50 callers at a voice pace (a pause of 0–{2 * paced[0]['think_s']:.0f} s after each "
             "answer)", "",
             "Measured first, on a fresh stack after one warm-up request per caller.", ""]
    lines += _table(paced, {})
    lines += ["", "### Throughput: C callers back to back", "",
              "Closed loop, no think time, every phase on the same stack in the same run; the no-op "
              "(`POST /noop`, same server and middleware, no work) first, after one check from every caller "
              "at once (the database pools open what this concurrency needs). `× no-op` is the ratio of answers "
              "without an error per second (ok/s). "
              "Latency here is mostly queueing: the servers and the load generator share 2 cores.", ""]
    lines += _table(phases, ratios)
    lines += ["", "### Targets (issue 7)", ""]
    for name, target in TARGET_RATIO.items():
        measured = [ratios.get((name, c), 0.0) for c in CONCURRENCY]
        lines.append(f"- `{name}` ≥ {target:.0%} of the no-op throughput: "
                     + ", ".join(f"{r:.0%} at {c}" for r, c in zip(measured, CONCURRENCY, strict=True))
                     + f" — {_verdict(all(r >= target for r in measured))}")
    lines.append(
        f"- core overhead over Cal.com latency at P95, 50 callers (≤ {TARGET_OVERHEAD_P95_MS:.0f} ms): "
        f"{overhead:.1f} ms — {_verdict(overhead <= TARGET_OVERHEAD_P95_MS)}. The core's own P95 (Server-Timing) "
        f"of paced `check_availability` {check['server_p95_ms']:.1f} ms minus {calcom['per_call']} Cal.com "
        f"request(s) per call × Cal.com's P95 {calcom['p95_ms']:.1f} ms ({calcom['requests']} `/v2/slots` "
        "requests of that phase in the mock's journal).")
    lines += ["", f"mock_calcom `/v2/slots` alone ({mock['concurrency']} concurrent clients, {mock['requests']} "
                  f"requests at {mock['rate_per_s']:.0f}/s): client P50 {mock['client']['p50_ms']:.1f} / P95 "
                  f"{mock['client']['p95_ms']:.1f} / P99 {mock['client']['p99_ms']:.1f} ms; server P95 "
                  f"{mock['server']['p95_ms']:.1f} ms.",
              "", "### Race storm (lock figures)", "",
              f"{storm['callers']} callers for {storm['seconds']:.0f} s on {storm['slots']} slots of one stylist, "
              f"each booking one and, {storm['pause_s'][0]:.0f}–{storm['pause_s'][1]:.0f} s later, cancelling what "
              "it got. Heard: " + ", ".join(f"{k} {v}" for k, v in sorted(storm["heard"].items())) + ".",
              f"Refusals (slot_taken / lock_busy) answered within P95 {storm['refusal_p95_ms']:.0f} ms. "
              f"Core /metrics ({storm['lock']['workers']} worker(s)): lock acquired {storm['lock']['acquired']:.0f}, "
              f"contended {storm['lock']['contended']:.0f}, unavailable {storm['lock']['unavailable']:.0f}"
              + (f", lock wait P95 ≤ {storm['lock']['wait_p95_s'] * 1000:.0f} ms" if storm["lock"]["wait_p95_s"]
                 else "") + "."]
    if storm["invariants"]:
        counts = storm["invariants"]["counts"]
        lines.append("Invariants after reconcile (whole run): " + (
            ", ".join(f"{k} {v}" for k, v in counts.items()) if counts
            else "0 orphans, 0 double bookings (active or transient), 0 ghosts") + ".")
    return "\n".join(lines)
