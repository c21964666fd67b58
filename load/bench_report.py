"""`make bench` figures as the markdown section of docs/benchmarks.md, with the issue's targets."""

from __future__ import annotations

from typing import Any

# Issue 17: share of the no-op's ok/s, on the embedded default (SQLite, 1 worker) and on the
# production shape (PostgreSQL + Redis, 2 workers).
TARGET_RATIO = {"embedded": {"book_appointment": 0.10, "check_availability": 0.40},
                "production": {"book_appointment": 0.20, "check_availability": 0.50}}
TARGET_OVERHEAD_P95_MS = 20.0
TARGET_HISTORY_RATIO = 1.2
TARGET_VOICE_OVERHEAD_MS = 30.0


def _ratios(phases: list[dict[str, Any]]) -> dict[tuple[str, int], float]:
    noop = {p["concurrency"]: p["ok_rps"] for p in phases if p["name"] == "noop"}
    return {(p["name"], p["concurrency"]): p["ok_rps"] / noop[p["concurrency"]]
            for p in phases if p["name"] != "noop" and noop.get(p["concurrency"])}


def _verdict(ok: bool, *measured: dict[str, Any]) -> str:
    """`measured`: the phases the figure comes from; one without an answer measured nothing."""
    if any(not phase.get("requests") for phase in measured):
        return "**not measured** (a phase without answers)"
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
    phases, paced, storm, mock = figures["phases"], figures["paced"], figures.get("storm"), figures["mock"]
    calcom = figures["calcom_during_paced_check"]
    ratios = _ratios(phases)
    check = paced[1]
    overhead = check["server_p95_ms"] - calcom["per_call"] * calcom["p95_ms"]
    lines = [f"## Throughput and latency (`make bench`: {setup['database']}, {setup['lock']} lock, {setup['core']})", "",
             "; ".join(f"{k}: {v}" for k, v in setup.items()) + ".", "",
             "The 2 cores were shared with other work during this run (see the load average): every figure "
             "below is noisy. Compare the ratios within this run, not absolute rates across runs.", "",
             f"### Latency: {paced[0]['concurrency']} callers at a voice pace (a pause of 0–{2 * paced[0]['think_s']:.0f} s "
             "after each "
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
    shape = "production" if setup["lock"] == "Redis" and not setup["core"].startswith("1 ") else "embedded"
    if figures.get("voice"):
        lines += _voice(figures["voice"])
    if figures.get("history"):
        lines += _history(figures["history"], phases)
    lines += ["", f"### Targets (issue 17, {shape} shape)", ""]
    for name, target in TARGET_RATIO[shape].items():
        callers = sorted({p["concurrency"] for p in phases})
        measured = [ratios.get((name, c), 0.0) for c in callers]
        lines.append(f"- `{name}` ≥ {target:.0%} of the no-op throughput: "
                     + ", ".join(f"{r:.0%} at {c}" for r, c in zip(measured, callers, strict=True))
                     + f" — {_verdict(all(r >= target for r in measured), *phases)}")
    errors = {f"{label}{p['name']} ×{p['concurrency']}": p["errors"] for label, group in (
        ("", phases), ("history ", (figures.get("history") or {}).get("phases", [])),
        ("voice ", (figures.get("voice") or {}).get("phases", []))) for p in group}
    failing = {k: v for k, v in errors.items() if v}
    lines.append("- errors in every phase (closed loop on the empty and the filled database, voice pace): 0 — "
                 + (_verdict(True) if not failing else
                    f"{_verdict(False)} ({', '.join(f'{k}: {v}' for k, v in failing.items())})"))
    if figures.get("history"):
        worst = _history_worst(figures["history"]["phases"], phases)
        share = _history_worst_share(figures["history"]["phases"], phases)
        lines.append(f"- with history, throughput and P95 within ×{TARGET_HISTORY_RATIO} of the empty database's: "
                     f"worst ×{worst[0]:.2f} ({worst[1]}) — "
                     f"{_verdict(worst[0] <= TARGET_HISTORY_RATIO, *phases, *figures['history']['phases'])}. "
                     "Measured as a share of each stack's own no-op (the machine's drift between the stacks "
                     f"divided out): worst ×{share[0]:.2f} ({share[1]})")
    if figures.get("voice"):
        over = _voice_overhead(figures["voice"])
        lines.append(f"- voice pace, {figures['voice']['phases'][0]['concurrency']} calls: core P95 over Cal.com "
                     f"≤ {TARGET_VOICE_OVERHEAD_MS:.0f} ms: check {over['check_availability']:.1f} ms, book "
                     f"{over['book_appointment']:.1f} ms — "
                     f"{_verdict(max(over.values()) <= TARGET_VOICE_OVERHEAD_MS, *figures['voice']['phases'])}"
                     + ("" if shape == "production" else " (the target is set for PostgreSQL + Redis, 2 workers)"))
    lines.append(
        f"- core overhead over Cal.com latency at P95, {check['concurrency']} paced callers "
        f"(≤ {TARGET_OVERHEAD_P95_MS:.0f} ms, issue 7): "
        f"{overhead:.1f} ms — {_verdict(overhead <= TARGET_OVERHEAD_P95_MS, check)}. The core's own P95 (Server-Timing) "
        f"of paced `check_availability` {check['server_p95_ms']:.1f} ms minus {calcom['per_call']} Cal.com "
        f"request(s) per call × Cal.com's P95 {calcom['p95_ms']:.1f} ms ({calcom['requests']} `/v2/slots` "
        "requests of that phase in the mock's journal).")
    lines += ["", f"mock_calcom `/v2/slots` alone ({mock['concurrency']} concurrent clients, {mock['requests']} "
                  f"requests at {mock['rate_per_s']:.0f}/s): client P50 {mock['client']['p50_ms']:.1f} / P95 "
                  f"{mock['client']['p95_ms']:.1f} / P99 {mock['client']['p99_ms']:.1f} ms; server P95 "
                  f"{mock['server']['p95_ms']:.1f} ms."]
    if storm:
        lines += _storm(storm)
    return "\n".join(lines)


def _storm(storm: dict[str, Any]) -> list[str]:
    lines = ["", "### Race storm (lock figures)", "",
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
    return lines


def _voice_overhead(voice: dict[str, Any]) -> dict[str, float]:
    """The core's own P95 minus what Cal.com took for it: /v2/slots per check, a create per booking."""
    check, book = voice["phases"]
    slots, create = voice["calcom_slots"], voice["calcom_create"]
    per_check = slots["requests"] / max(1, check["requests"])
    per_book = create["requests"] / max(1, book["requests"])
    return {"check_availability": check["server_p95_ms"] - per_check * slots["p95_ms"],
            "book_appointment": book["server_p95_ms"] - per_book * create["p95_ms"]}


def _voice(voice: dict[str, Any]) -> list[str]:
    check = voice["phases"][0]
    slots, create = voice["calcom_slots"], voice["calcom_create"]
    over = _voice_overhead(voice)
    low, high = voice["think_s"]
    return ["", f"### Voice pace: {check['concurrency']} calls at once", "",
            f"Every call checks a time, pauses {low:.0f}–{high:.0f} s (the agent speaks, the caller answers), books "
            f"another, pauses, and so on, for {voice['seconds']:.0f} s; calls begin one by one over the first "
            f"{min(high, voice['seconds'] / 4):.0f} s. Server P95 is the core's own time (Server-Timing).", ""] + _table(voice["phases"], {}) + [
        "", f"Cal.com in the same window (the mock's journal): `/v2/slots` {slots['requests']} requests, P95 "
            f"{slots['p95_ms']:.1f} ms; `POST /v2/bookings` {create['requests']}, P95 {create['p95_ms']:.1f} ms. "
            f"Core over Cal.com at P95: check {over['check_availability']:.1f} ms, book "
            f"{over['book_appointment']:.1f} ms."]


def _history_pairs(history: list[dict[str, Any]], empty: list[dict[str, Any]]) -> list[tuple[str, float, float, float]]:
    """(phase, ok/s empty ÷ history, P95 history ÷ empty, share of the no-op empty ÷ history) per
    function phase. The last one divides out the machine's drift between the two stacks, which each
    stack's own no-op measures (its rate moved by up to a fifth between the stacks of one run)."""
    by_key = {(p["name"], p["concurrency"]): p for p in empty}
    shares, history_shares = _ratios(empty), _ratios(history)
    pairs = []
    for p in history:
        key = (p["name"], p["concurrency"])
        base = by_key.get(key)
        if base is None or p["name"] == "noop":
            continue
        share = shares.get(key, 0.0) / max(history_shares.get(key, 0.0), 1e-6)
        pairs.append((f"{p['name']} ×{p['concurrency']}", base["ok_rps"] / max(p["ok_rps"], 0.1),
                      p["p95_ms"] / max(base["p95_ms"], 0.1), share))
    return pairs


def _history_worst(history: list[dict[str, Any]], empty: list[dict[str, Any]]) -> tuple[float, str]:
    found = [(rate, f"{name} throughput") for name, rate, _, _ in _history_pairs(history, empty)]
    found += [(p95, f"{name} P95") for name, _, p95, _ in _history_pairs(history, empty)]
    return max(found, default=(0.0, "no phases"))


def _history_worst_share(history: list[dict[str, Any]], empty: list[dict[str, Any]]) -> tuple[float, str]:
    return max(((share, f"{name} share of the no-op") for name, _, _, share in _history_pairs(history, empty)),
               default=(0.0, "no phases"))


def _history(history: dict[str, Any], empty: list[dict[str, Any]]) -> list[str]:
    size, fill = history["size"], history["fill"]
    rows = fill["rows"]
    lines = ["", "### With history: the same phases on a filled database", "",
             f"A second stack on a fresh database filled before its phases (load/history.py) in {fill['seconds']:.0f} s: "
             f"{rows.get('appointments', 0):,} appointments ({size['past']:,} past, {size['upcoming']:,} upcoming) over "
             f"{fill['stylists']} stylists and {fill['services']} services, {rows.get('function_calls', 0):,} "
             f"function-call records, {rows.get('call_events', 0):,} call events ({rows.get('calls', 0):,} calls), "
             f"{rows.get('customers', 0):,} customers.", ""]
    ratios = _ratios(history["phases"])
    lines += _table(history["phases"], ratios)
    lines += ["", "| phase | ok/s empty ÷ history | P95 history ÷ empty | × no-op empty ÷ history |",
              "|---|---:|---:|---:|"]
    lines += [f"| {name} | ×{rate:.2f} | ×{p95:.2f} | ×{share:.2f} |"
              for name, rate, p95, share in _history_pairs(history["phases"], empty)]
    return lines
