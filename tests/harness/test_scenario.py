"""Scenario files: the format, its shorthand and defaults, and errors that name file and field."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from harness.clock import BERLIN, date_placeholders
from harness.scenario import Now, ScenarioError, load_scenarios

REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_single_call_shorthand_and_defaults(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", """
defaults:
  tags: [x]
  turns: ["Hallo"]
  expect: {outcome: booked}
scenarios:
  - name: one
  - name: two
    calls:
      - turns: ["Erster Anruf"]
      - turns: ["Zweiter Anruf"]
        expect: {outcome: cancelled}
""")
    one, two = load_scenarios([tmp_path])
    assert one.calls[0].turns == ["Hallo"] and one.calls[0].expect.outcome == "booked"
    assert [c.turns for c in two.calls] == [["Erster Anruf"], ["Zweiter Anruf"]]
    assert two.calls[0].expect.outcome is None  # defaults' expect does not leak into `calls`
    assert one.tags == ["x"]


def test_validation_error_names_file_scenario_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", """
scenarios:
  - name: fine
    turns: ["Hallo"]
  - name: broken
    turns: ["Hallo"]
    expect: {outcome: gebucht}
""")
    with pytest.raises(ScenarioError) as error:
        load_scenarios([path])
    message = str(error.value)
    assert str(path) in message and "[scenario 1]" in message and "calls.0.expect.outcome" in message


def test_unknown_field_and_bad_yaml_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "typo.yaml", "name: typo\nturns: [Hallo]\nexpectations: {}\n")
    with pytest.raises(ScenarioError, match=r"typo.yaml: expectations: Extra inputs"):
        load_scenarios([tmp_path / "typo.yaml"])
    write(tmp_path, "yaml.yaml", "name: [unclosed\n")
    with pytest.raises(ScenarioError, match="invalid YAML"):
        load_scenarios([tmp_path / "yaml.yaml"])


def test_duplicate_names_across_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: same\nturns: [Hallo]\n")
    write(tmp_path, "b.yaml", "name: same\nturns: [Hallo]\n")
    with pytest.raises(ScenarioError, match="already defined"):
        load_scenarios([tmp_path])


def test_pattern_filters_by_name_tag_and_glob(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", """
scenarios:
  - {name: book-a, tags: [services], turns: [x]}
  - {name: fault-b, tags: [faults], turns: [x]}
""")
    assert [s.name for s in load_scenarios([tmp_path], "fault")] == ["fault-b"]
    assert [s.name for s in load_scenarios([tmp_path], "services")] == ["book-a"]
    assert [s.name for s in load_scenarios([tmp_path], "book-*")] == ["book-a"]


def test_runs_alone_when_faults_or_mock_config(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", """
scenarios:
  - {name: plain, turns: [x]}
  - {name: faulty, turns: [x], faults: [calcom_hang]}
  - {name: racy, turns: [x], mock: {race_window_ms: 50}}
  - {name: header-only, turns: [x], core_faults: [db_confirm]}
""")
    alone = {s.name: s.runs_alone for s in load_scenarios([tmp_path])}
    assert alone == {"plain": False, "faulty": True, "racy": True, "header-only": False}


def test_relative_now_is_future_weekday_and_lanes_keep_it() -> None:
    real = datetime(2026, 11, 25, 13, 0, tzinfo=BERLIN)  # a Wednesday
    now = Now.model_validate("next monday 10:00").resolve(real)
    assert now.weekday() == 0 and (now.hour, now.minute) == (10, 0)
    assert now - real >= timedelta(days=2) and now - real < timedelta(days=9)
    assert Now(weekday="sat", time="09:30").resolve(real) == datetime(2026, 11, 28, 9, 30, tzinfo=BERLIN)
    # Friday 09:30 is less than two days away: the week after.
    assert Now(weekday="fri", time="09:30").resolve(real) == datetime(2026, 12, 4, 9, 30, tzinfo=BERLIN)
    lane3 = Now(weekday="mon").resolve(real, lane=3)
    assert lane3 - now == timedelta(weeks=3) and lane3.hour == 10  # DST-safe: wall clock kept
    with pytest.raises(ValueError):
        Now(weekday="mon", days_ahead=2)


def test_date_placeholders() -> None:
    now = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    values = date_placeholders(now)
    assert "{date:+3}".format_map(values) == "26. November"
    assert "{numeric:+10}".format_map(values) == "03.12."
    assert "{weekday:+2}".format_map(values) == "Mittwoch"
    assert "{iso:+1@14:30}".format_map(values) == "2026-11-24T14:30:00+01:00"


def test_repository_suite_loads_and_is_big_enough() -> None:
    scenarios = load_scenarios([REPO_SCENARIOS])
    assert len(scenarios) >= 40
    names = {s.name for s in scenarios}
    assert {"race-10-callers-one-slot", "race-50-callers-one-slot", "db-fails-at-confirm"} <= names
    services = [s for s in scenarios if "services" in s.tags]
    assert len(services) == 24


def test_a_list_of_agent_styles_runs_the_scenario_once_per_style(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("defaults: {lane: nat, policy: {args: [spoken, full_turn]}}\n"
                    "scenarios:\n  - {name: a, turns: [hallo]}\n  - {name: b, turns: [hallo], policy: {args: spoken}}\n",
                    encoding="utf-8")
    loaded = load_scenarios([path])
    assert [(s.name, s.lane, s.policy.args) for s in loaded] == [
        ("a", "nat", "spoken"), ("a--full-turn", "nat--full-turn", "full_turn"), ("b", "nat", "spoken")]
    path.write_text("name: c\nturns: [hallo]\npolicy: {args: [spoken, spoken]}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="each agent style once"):
        load_scenarios([path])
