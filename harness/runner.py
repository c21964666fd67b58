"""Running a suite: scenarios side by side where they cannot disturb each other, alone where they can.

Faults and mock config act on the whole mock, so such scenarios run one at a time after the shared
phase, with the faults cleared after each. The mock's bookings are never reset mid-run: the core's
database still holds its appointments, and wiping one side would fake ghosts. Isolation comes from
the clock instead: every scenario lives in its own week ("lane").

Invariants are checked when the system is quiet (after the shared phase, after each lone scenario,
and once at the end), polling up to the scenario's settle time, because compensation may still be
finishing in the background when the last answer has been spoken.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from harness.agent import new_call_id, simulate_call
from harness.callers import CallerIdentity, make_caller, stable_seed
from harness.clock import BERLIN, date_placeholders, parse_clock_time
from harness.expectations import check_call, check_group
from harness.invariants import Snapshot, find_violations, take_snapshot, truthfulness
from harness.latency import summarise
from harness.mock_control import CalcomSide, MockControlError
from harness.results import CallRecord, RunResult, ScenarioResult, Violation
from harness.retell import RetellPlatform
from harness.scenario import Scenario, ScenarioError
from harness.stack import StackError, StackOptions, Target, open_target

MAX_FAILURE_LINES = 8


@dataclass
class RunOptions:
    parallel: int = 6
    start_week: int = 0
    real_now: datetime | None = None


OnResult = Callable[[ScenarioResult], None]


class _PlaceholderError(Exception):
    pass


def _render(text: str | None, values: dict[str, Any]) -> str:
    if not text:
        return ""
    try:
        return text.format_map(values)
    except (KeyError, ValueError, IndexError) as error:
        raise _PlaceholderError(f"bad placeholder in {text!r}: {error}") from None


def assign_lanes(scenarios: Sequence[Scenario], start_week: int = 0) -> dict[str, int]:
    """Scenario → week offset: one week per scenario, or per named lane shared by several.

    Cal.com offers slots up to a year ahead, so the number of lanes (weeks) is what limits a suite.
    """
    weeks: dict[str, int] = {}
    lanes: dict[str, int] = {}
    for scenario in scenarios:
        key = f"lane:{scenario.lane}" if scenario.lane else f"scenario:{scenario.name}"
        lanes[scenario.name] = weeks.setdefault(key, start_week + len(weeks))
    return lanes


class SuiteRun:
    def __init__(self, client: httpx.AsyncClient, target: Target, options: RunOptions,
                 on_result: OnResult | None = None) -> None:
        self._client = client
        self._target = target
        self._options = options
        self._on_result = on_result or (lambda _r: None)
        self._calcom = CalcomSide(client, target.calcom_url, target.calcom_api_key)
        self._catalog: dict[str, int] = {}
        self._real_now = options.real_now or datetime.now(BERLIN)
        self._owner: dict[str, ScenarioResult] = {}  # call_id → scenario result
        self._seen: set[str] = set()
        self._awaiting_reconcile: set[int] = set()  # ids of results judged after the reconciler
        self.suite_violations: list[Violation] = []
        self.phases_s: dict[str, float] = {}

    async def run(self, scenarios: Sequence[Scenario]) -> list[ScenarioResult]:
        await self._calcom.detect()
        if self._calcom.is_mock:
            await self._calcom.clear_faults()
        if any(s.existing_bookings for s in scenarios):
            self._catalog = await self._calcom.event_types()
        baseline = await self._calcom.config() if self._calcom.is_mock else {}
        lanes = assign_lanes(scenarios, self._options.start_week)
        shared = [s for s in scenarios if not s.runs_alone]
        alone = [s for s in scenarios if s.runs_alone]
        results: dict[str, ScenarioResult] = {}

        gate = asyncio.Semaphore(self._options.parallel)

        async def guarded(scenario: Scenario) -> None:
            async with gate:
                results[scenario.name] = await self._run(scenario, lanes[scenario.name])
            self._on_result(results[scenario.name])

        clock = time.perf_counter()
        await asyncio.gather(*(guarded(s) for s in shared))
        await self._judge([results[s.name] for s in shared], max((s.settle_ms for s in shared), default=0))
        self.phases_s["shared"] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()
        # Scenarios that leave healing to the reconciler are judged after one reconcile at the end:
        # the reconciler is a slow operator command, and it must not run while others are in flight.
        waiting: list[ScenarioResult] = []
        for scenario in alone:
            result = await self._run_alone(scenario, lanes[scenario.name], baseline)
            results[scenario.name] = result
            self._on_result(result)
            if scenario.reconcile:
                waiting.append(result)
                self._awaiting_reconcile.add(id(result))
                continue
            await self._judge([result], scenario.settle_ms)
        self.phases_s["alone"] = round(time.perf_counter() - clock, 2)
        clock = time.perf_counter()
        if waiting:
            await self._reconcile(waiting)
            self._awaiting_reconcile.clear()
        # Late findings (a compensation that never finished) and the reconciled scenarios.
        await self._judge(waiting, max((s.settle_ms for s in alone if s.reconcile), default=0))
        self.phases_s["reconcile+final check"] = round(time.perf_counter() - clock, 2)
        ordered = [results[s.name] for s in scenarios]
        for result in ordered:
            self._finish(result)
        return ordered

    async def _run_alone(self, scenario: Scenario, lane: int, baseline: dict[str, Any]) -> ScenarioResult:
        if not self._calcom.is_mock:
            return ScenarioResult(name=scenario.name, source=scenario.source, description=scenario.description,
                                  failures=["needs mock_calcom (faults/mock config), but --calcom-url is a real Cal.com"],
                                  ran_alone=True)
        changes = scenario.mock.model_dump(exclude_none=True) if scenario.mock else {}
        try:
            await self._calcom.apply_faults(scenario.faults)
            if changes:
                await self._calcom.set_config(changes)
            result = await self._run(scenario, lane)
        except MockControlError as error:
            result = ScenarioResult(name=scenario.name, source=scenario.source, failures=[str(error)])
        finally:
            await self._calcom.clear_faults()
            # Profiles may change config too (race window, rate limit): always restore all of it.
            await self._calcom.set_config({k: v for k, v in baseline.items() if k != "now"})
        result.ran_alone = True
        return result

    async def _reconcile(self, waiting: list[ScenarioResult]) -> None:
        try:
            report = await self._target.reconcile()
        except StackError as error:
            for result in waiting:
                result.failures.append(f"reconcile: {error}")
            return
        for result in waiting:
            result.reconciled = report

    async def _seed(self, scenario: Scenario, now: datetime) -> None:
        for index, booking in enumerate(scenario.existing_bookings):
            event_type = self._catalog.get(booking.service)
            if event_type is None:
                raise MockControlError(f"existing_bookings[{index}].service: no Cal.com event type titled "
                                       f"{booking.service!r} (known: {', '.join(sorted(self._catalog))})")
            start = datetime.combine(now.date() + timedelta(days=booking.in_days), parse_clock_time(booking.time),
                                     tzinfo=BERLIN)
            await self._calcom.seed_booking(event_type, start, "Bestandskundin Muster",
                                            f"seed.{scenario.name}.{index}@example.com")

    async def _run(self, scenario: Scenario, lane: int) -> ScenarioResult:
        started = time.perf_counter()
        result = ScenarioResult(name=scenario.name, source=scenario.source, description=scenario.description,
                                invariants_checked=list(scenario.invariants))
        try:
            now = scenario.now.resolve(self._real_now, lane)
            await self._seed(scenario, now)
            result.failures += await self._calls(scenario, now, result)
        except (MockControlError, _PlaceholderError, ScenarioError, httpx.HTTPError) as error:
            result.failures.append(f"setup: {error}")
        except Exception as error:  # one broken scenario must not take the suite down
            result.failures.append(f"harness error: {type(error).__name__}: {error}")
        result.duration_s = round(time.perf_counter() - started, 2)
        functions = [f for c in result.calls for f in c.functions]
        result.client_latency = summarise([f.client_ms for f in functions if f.client_ms is not None])
        result.server_latency = summarise([f.server_ms for f in functions if f.server_ms is not None])
        return result

    async def _calls(self, scenario: Scenario, now: datetime, result: ScenarioResult) -> list[str]:
        headers = {"X-Callsim-Fault": ",".join(scenario.core_faults)} if scenario.core_faults else {}
        seed = scenario.seed if scenario.seed is not None else stable_seed(scenario.name)
        platform = RetellPlatform(self._client, self._target.webhook_url, scenario.transport,
                                  self._target.retell_api_key, headers, seed)
        count = scenario.concurrency.callers
        callers = [make_caller(scenario.caller, seed, i) for i in range(count)]
        dates = date_placeholders(now)

        async def one_caller(index: int, caller: CallerIdentity) -> list[CallRecord]:
            if count > 1 and scenario.concurrency.spread_ms:
                await asyncio.sleep(scenario.concurrency.spread_ms * index / (count - 1) / 1000)
            values = {**dates, **caller.placeholders()}
            records = []
            for call_index, script in enumerate(scenario.calls):
                record = CallRecord(scenario=scenario.name, call_index=call_index, caller_index=index,
                                    call_id=new_call_id(), from_number=caller.phone, caller_name=caller.name,
                                    now=now.isoformat())
                self._owner[record.call_id] = result
                records.append(record)
                await simulate_call(platform, [_render(t, values) for t in script.turns], caller, now,
                                    scenario.policy, record)
            return records

        per_caller = await asyncio.gather(*(one_caller(i, c) for i, c in enumerate(callers)))
        result.calls = [record for records in per_caller for record in records]
        failures: list[str] = []
        for index, records in enumerate(per_caller):
            values = {**dates, **callers[index].placeholders()}
            for record, script in zip(records, scenario.calls, strict=True):
                label = "call" if count == 1 and len(scenario.calls) == 1 else (
                    f"call {record.call_index + 1}" if count == 1 else
                    f"caller {index + 1} call {record.call_index + 1}")
                failures += check_call(record, script.expect, values, label)
                failures += [f"{label}: {problem}" for problem in record.failures]
        if scenario.group is not None:
            failures += check_group([records[-1] for records in per_caller], scenario.group,
                                    {**dates, **callers[0].placeholders()})
        finals = [records[-1].outcome for records in per_caller]
        result.outcome = finals[0] if len(set(finals)) == 1 else ", ".join(
            f"{finals.count(o)}×{o}" for o in sorted(set(finals)))
        if len(failures) > MAX_FAILURE_LINES:
            failures = failures[:MAX_FAILURE_LINES] + [f"… and {len(failures) - MAX_FAILURE_LINES} more"]
        return failures

    async def _snapshot(self) -> Snapshot:
        return await take_snapshot(self._target.calcom_url, self._target.calcom_api_key, self._target.database_url,
                                   self._client)

    async def _judge(self, results: list[ScenarioResult], settle_ms: int) -> None:
        """Check invariants once quiet; retry while violations may still heal (compensation)."""
        deadline = time.monotonic() + settle_ms / 1000
        while True:
            try:
                snapshot = await self._snapshot()
            except Exception as error:  # the checker must report, not crash the run
                self.suite_violations.append(Violation(invariant="orphans", key=f"check-error:{time.time()}",
                                                       detail=f"invariant check failed: {error!r}"))
                return
            found = [v for v in find_violations(snapshot) if v.key not in self._seen and not self._deferred(v)]
            for result in results:
                found += [v for v in truthfulness(result.calls, snapshot) if v.key not in self._seen]
            if not found or time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.25)
        for violation in found:
            self._seen.add(violation.key)
            owners = {id(self._owner[c]): self._owner[c] for c in violation.call_ids if c in self._owner}
            if not owners:
                self.suite_violations.append(violation)
            for owner in owners.values():
                owner.violations.append(violation)

    def _deferred(self, violation: Violation) -> bool:
        """A violation caused only by scenarios still waiting for the reconciler is not judged yet."""
        owners = [self._owner[c] for c in violation.call_ids if c in self._owner]
        return bool(owners) and all(id(o) in self._awaiting_reconcile for o in owners)

    @staticmethod
    def _finish(result: ScenarioResult) -> None:
        checked = set(result.invariants_checked)
        for violation in result.violations:
            if violation.invariant in checked:
                result.failures.append(f"invariant {violation.invariant}: {violation.detail}")
        result.passed = not result.failures


async def run_suite(scenarios: Sequence[Scenario], stack: StackOptions, options: RunOptions | None = None,
                    on_result: OnResult | None = None) -> RunResult:
    options = options or RunOptions()
    run = RunResult(started_at=datetime.now(BERLIN).isoformat(timespec="seconds"))
    started = time.perf_counter()
    try:
        async with open_target(stack) as target:
            run.phases_s["start"] = round(time.perf_counter() - started, 2)
            run.webhook_url, run.calcom_url = target.webhook_url, target.calcom_url
            run.database_url = _without_password(target.database_url)
            limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
            async with httpx.AsyncClient(limits=limits) as client:
                suite = SuiteRun(client, target, options, on_result)
                run.scenarios = await suite.run(scenarios)
                run.suite_violations = suite.suite_violations
                run.phases_s.update(suite.phases_s)
    except (StackError, MockControlError, httpx.HTTPError) as error:
        run.errors.append(str(error))
    run.duration_s = round(time.perf_counter() - started, 2)
    _latency_by_function(run)
    return run


def _latency_by_function(run: RunResult) -> None:
    client: dict[str, list[float]] = {}
    server: dict[str, list[float]] = {}
    for scenario in run.scenarios:
        for call in scenario.calls:
            for f in call.functions:
                if f.client_ms is not None:
                    client.setdefault(f.name, []).append(f.client_ms)
                if f.server_ms is not None:
                    server.setdefault(f.name, []).append(f.server_ms)
    all_client = [v for values in client.values() for v in values]
    all_server = [v for values in server.values() for v in values]
    run.client_latency = {name: summarise(values) for name, values in sorted(client.items())}
    run.server_latency = {name: summarise(values) for name, values in sorted(server.items())}
    if all_client:
        run.client_latency["all"] = summarise(all_client)
    if all_server:
        run.server_latency["all"] = summarise(all_server)


def _without_password(url: str | None) -> str | None:
    if not url or "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
