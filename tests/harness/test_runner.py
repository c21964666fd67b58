"""The runner end to end against the fake salon: verdicts, invariants, and clear failure messages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from harness.clock import BERLIN
from harness.results import ScenarioResult
from harness.runner import RunOptions, SuiteRun
from harness.scenario import Scenario, load_scenarios
from harness.stack import Target
from tests.harness.fake_salon import FakeSalon, create_schema

REAL_NOW = datetime(2030, 3, 1, 12, 0, tzinfo=BERLIN)


@pytest.fixture
def salon(tmp_path: Path) -> FakeSalon:
    create_schema(tmp_path / "db.sqlite")
    return FakeSalon(tmp_path / "db.sqlite")


def scenarios(tmp_path: Path, text: str) -> list[Scenario]:
    (tmp_path / "s.yaml").write_text(text, encoding="utf-8")
    return load_scenarios([tmp_path / "s.yaml"])


class FakeTarget(Target):
    def __init__(self, salon: FakeSalon) -> None:
        super().__init__("http://core.test", "http://calcom.test", f"sqlite+aiosqlite:///{salon.db_path}", "cal_x",
                         "key")
        self.salon = salon
        self.reconciled = 0

    async def reconcile(self) -> dict:  # type: ignore[type-arg]
        self.reconciled += 1
        return self.salon.reconcile()


async def run(salon: FakeSalon, items: list[Scenario]) -> tuple[list[ScenarioResult], SuiteRun]:
    target = FakeTarget(salon)
    async with httpx.AsyncClient(transport=salon.transport()) as client:
        suite = SuiteRun(client, target, RunOptions(real_now=REAL_NOW))
        return await suite.run(items), suite


GOOD = """
scenarios:
  - name: good
    turns: ["Herrenschnitt morgen um 10 Uhr, mein Name ist {name}."]
    expect:
      outcome: booked
      functions:
        - {function: book_appointment, args: {service: Herrenschnitt, customer_name: "{name}"},
           data: {start: "{iso:+1@10:00}"}, success: true}
      says: [gebucht]
  - name: taken
    existing_bookings: [{service: Damenschnitt, in_days: 1, time: "10:00"}]
    turns: ["Damenschnitt morgen um 10 Uhr, mein Name ist {name}."]
    expect: {outcome: refused}
  - name: alone
    faults: [calcom_hang]
    turns: ["Was bieten Sie an?"]
"""


async def test_passing_suite(tmp_path: Path, salon: FakeSalon) -> None:
    results, suite = await run(salon, scenarios(tmp_path, GOOD))
    assert [(r.name, r.passed, r.outcome) for r in results] == [
        ("good", True, "booked"), ("taken", True, "refused"), ("alone", True, "listed")]
    assert suite.suite_violations == []
    assert results[2].ran_alone and not results[0].ran_alone
    # the fault was put in force for the lone scenario and cleared afterwards
    assert salon.applied_faults == [{"profile": "calcom_hang"}] and salon.faults == []
    assert results[0].client_latency is not None and results[0].client_latency.stat == "max"
    assert results[0].server_latency is not None and results[0].server_latency.value_ms == 12.5
    # scenarios live in their own weeks: the two bookings are a week apart
    asked = [f.data["requested"] for r in results[:2] for c in r.calls for f in c.functions
             if f.name == "check_availability"]
    assert [a[:10] for a in asked] == ["2030-03-05", "2030-03-12"]


async def test_scenario_wrong_on_purpose_fails_with_a_clear_message(tmp_path: Path, salon: FakeSalon) -> None:
    wrong = scenarios(tmp_path, """
name: wrong-on-purpose
turns: ["Herrenschnitt morgen um 10 Uhr, mein Name ist {name}."]
expect:
  outcome: refused
  functions: [{function: book_appointment, args: {service: Damenschnitt}}]
  says: [storniert]
""")
    (result,), _ = await run(salon, wrong)
    assert not result.passed
    assert result.failures[0].startswith("call: expected outcome refused, got booked (last function: "
                                         "book_appointment(")
    assert "expected a call to book_appointment with service='Damenschnitt'; calls made: check_availability(" \
           in result.failures[1]
    assert "the agent never said 'storniert'" in result.failures[2]


async def test_lies_of_the_core_are_caught_as_invariants(tmp_path: Path, salon: FakeSalon) -> None:
    salon.forget_db_confirm = True  # Cal.com booked, DB row left pending, caller told "gebucht"
    (result,), _ = await run(salon, scenarios(tmp_path, """
name: orphan-maker
settle_ms: 300
turns: ["Herrenschnitt morgen um 10 Uhr, mein Name ist {name}."]
expect: {outcome: booked}
"""))
    assert not result.passed
    assert {v.invariant for v in result.violations} == {"orphans", "truthfulness"}
    assert any(f.startswith("invariant orphans: Cal.com booking uid0") for f in result.failures)


async def test_concurrency_group_counts(tmp_path: Path, salon: FakeSalon) -> None:
    (result,), _ = await run(salon, scenarios(tmp_path, """
name: crowd
concurrency: {callers: 5, spread_ms: 20}
turns: ["Herrenschnitt morgen um 10 Uhr, mein Name ist {name}."]
group:
  outcomes: {booked: 1, refused: 4}
"""))
    assert result.passed, result.failures
    assert len({c.from_number for c in result.calls}) == 5 and result.outcome == "1×booked, 4×refused"


async def test_group_miscount_is_named(tmp_path: Path, salon: FakeSalon) -> None:
    (result,), _ = await run(salon, scenarios(tmp_path, """
name: crowd-wrong
concurrency: {callers: 3}
turns: ["Herrenschnitt morgen um 10 Uhr, mein Name ist {name}."]
group: {outcomes: {booked: 3}}
"""))
    assert result.failures == ["group of 3 callers: expected 3 × booked, got 1 (all outcomes: "
                               "{'booked': 1, 'refused': 2})"]


def test_lanes_one_week_per_scenario_or_per_named_lane(tmp_path: Path) -> None:
    from harness.runner import assign_lanes

    items = scenarios(tmp_path, """
scenarios:
  - {name: a, lane: shared, turns: [x]}
  - {name: b, turns: [x]}
  - {name: c, lane: shared, turns: [x]}
  - {name: d, turns: [x]}
""")
    assert assign_lanes(items) == {"a": 0, "b": 1, "c": 0, "d": 2}
    assert assign_lanes(items, start_week=10)["d"] == 12


LATE = """
scenarios:
  - name: late-{n}
    settle_ms: 200
    reconcile: {reconcile}
    turns: ["Herrenschnitt morgen um 10 Uhr, mein Name ist {{name}}."]
    expect: {{outcome: refused}}
"""


async def test_late_landing_is_judged_after_one_reconcile(tmp_path: Path, salon: FakeSalon) -> None:
    salon.land_late = True
    text = "scenarios:\n" + "".join(LATE.format(n=n, reconcile="true").split("scenarios:\n")[1] for n in (1, 2))
    results, suite = await run(salon, scenarios(tmp_path, text))
    assert [r.passed for r in results] == [True, True], [r.failures for r in results]
    assert all(r.reconciled == {"cancelled_orphans": ["uid0", "uid1"]} for r in results)
    assert suite.suite_violations == []


async def test_late_landing_without_reconcile_is_an_orphan_and_a_lie(tmp_path: Path, salon: FakeSalon) -> None:
    salon.land_late = True
    (result,), _ = await run(salon, scenarios(tmp_path, LATE.format(n=1, reconcile="false")))
    assert {v.invariant for v in result.violations} == {"orphans", "truthfulness"}
    assert result.reconciled is None
