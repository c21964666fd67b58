"""Judging a call against its script's expectations; every failure is one readable sentence."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from harness.latency import summarise
from harness.results import CallRecord, FunctionCallRecord
from harness.scenario import CallExpectation, FunctionExpectation, GroupExpectation, LatencyBound


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


def _short(record: FunctionCallRecord) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in record.args.items())
    if record.transport_error:
        result = f"transport error: {record.transport_error}"
    elif record.success:
        shown = {k: record.data[k] for k in ("service", "start", "available", "requested") if k in record.data}
        result = f"ok {shown}" if shown else "ok"
    else:
        result = f"{record.error}"
    return f"{record.name}({args}) → {result}"


def _matches(expected: FunctionExpectation, actual: FunctionCallRecord, values: dict[str, Any]) -> bool:
    if expected.function != actual.name:
        return False
    for source, wanted in ((actual.args, expected.args), (actual.data, expected.data)):
        for key, want in wanted.items():
            rendered = want.format_map(values) if isinstance(want, str) else want
            if key not in source or _norm(source[key]) != _norm(rendered):
                return False
    if expected.success is not None and actual.success is not expected.success:
        return False
    if expected.error is None:
        return True
    return actual.error in ([expected.error] if isinstance(expected.error, str) else expected.error)


def _describe(expected: FunctionExpectation) -> str:
    parts = [expected.function]
    if expected.args:
        parts.append("with " + ", ".join(f"{k}={v!r}" for k, v in expected.args.items()))
    if expected.data:
        parts.append("answering " + ", ".join(f"{k}={v!r}" for k, v in expected.data.items()))
    if expected.success is not None:
        parts.append("succeeding" if expected.success else "failing")
    if expected.error:
        errors = [expected.error] if isinstance(expected.error, str) else expected.error
        parts.append(f"with error {' or '.join(errors)}")
    return " ".join(parts)


def latency_failure(functions: Sequence[FunctionCallRecord], bound: LatencyBound) -> str | None:
    chosen = [f for f in functions if bound.function in (None, f.name)]
    samples = [v for v in ((f.client_ms if bound.side == "client" else f.server_ms) for f in chosen) if v is not None]
    summary = summarise(samples)
    if summary.value_ms is None:
        return None if not chosen else f"no {bound.side}-side latency measured for {bound.function or 'any function'}"
    limit = bound.p95_ms if summary.stat == "p95" else (bound.max_ms or bound.p95_ms)
    if bound.max_ms is not None and summary.stat == "p95" and max(samples) > bound.max_ms:
        return (f"{bound.side}-side latency of {bound.function or 'all functions'}: max {max(samples):.0f} ms "
                f"> bound {bound.max_ms:.0f} ms")
    if limit is not None and summary.value_ms > limit:
        return (f"{bound.side}-side latency of {bound.function or 'all functions'}: {summary.stat} "
                f"{summary.value_ms:.0f} ms over {summary.samples} calls > bound {limit:.0f} ms")
    return None


def check_call(call: CallRecord, expect: CallExpectation, values: dict[str, Any], label: str) -> list[str]:
    failures: list[str] = []
    last_answer = next((f for f in reversed(call.functions)), None)
    context = f" (last function: {_short(last_answer)})" if last_answer else " (no function called)"
    if expect.outcome is not None:
        wanted = [expect.outcome] if isinstance(expect.outcome, str) else list(expect.outcome)
        if call.outcome not in wanted:
            failures.append(f"{label}: expected outcome {' or '.join(wanted)}, got {call.outcome}{context}")
    position = 0
    for expected in expect.functions:
        index = next((i for i in range(position, len(call.functions))
                      if _matches(expected, call.functions[i], values)), None)
        if index is None:
            made = "; ".join(_short(f) for f in call.functions) or "none"
            failures.append(f"{label}: expected a call to {_describe(expected)}; calls made: {made}")
        else:
            position = index + 1
    for name in expect.not_called:
        if any(f.name == name for f in call.functions):
            failures.append(f"{label}: {name} must not be called, but was: "
                            + "; ".join(_short(f) for f in call.functions if f.name == name))
    spoken = _norm(call.agent_text)
    for words in expect.says:
        if _norm(words.format_map(values)) not in spoken:
            failures.append(f"{label}: the agent never said {words!r}; it said: {call.agent_text!r}")
    for words in expect.says_not:
        if _norm(words.format_map(values)) in spoken:
            failures.append(f"{label}: the agent must not say {words!r}; it said: {call.agent_text!r}")
    last = next((u.text for u in reversed(call.utterances) if u.role == "agent"), "")
    for words in expect.last_says:
        if _norm(words.format_map(values)) not in _norm(last):
            failures.append(f"{label}: the agent's last answer lacks {words!r}: {last!r}")
    for bound in expect.latency:
        failure = latency_failure(call.functions, bound)
        if failure:
            failures.append(f"{label}: {failure}")
    return failures


def check_group(last_calls: Sequence[CallRecord], group: GroupExpectation, values: dict[str, Any]) -> list[str]:
    failures: list[str] = []
    counts = Counter(call.outcome for call in last_calls)
    for outcome, wanted in group.outcomes.items():
        if counts.get(outcome, 0) != wanted:
            failures.append(f"group of {len(last_calls)} callers: expected {wanted} × {outcome}, got "
                            f"{counts.get(outcome, 0)} (all outcomes: {dict(counts)})")
    for outcome, expect in group.per_outcome.items():
        for call in last_calls:
            if call.outcome == outcome:
                failures += check_call(call, expect, values, f"caller {call.caller_index + 1} ({outcome})")
    functions = [f for call in last_calls for f in call.functions]
    for bound in group.latency:
        failure = latency_failure(functions, bound)
        if failure:
            failures.append(f"group: {failure}")
    return failures
