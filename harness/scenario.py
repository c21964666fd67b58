"""Scenario scripts: the YAML format, validated with pydantic, and loading with clear errors.

A file holds one scenario (a mapping) or several (`scenarios: [...]`, with optional `defaults:`
merged into each). The format is documented in scenarios/README.md.
"""

from __future__ import annotations

import fnmatch
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from booking_core.schemas import FUNCTION_NAMES
from harness.clock import (
    days_ahead_at,
    first_weekday_at,
    in_lane,
    parse_clock_time,
    parse_relative_now,
    parse_weekday,
)

Outcome = Literal["booked", "refused", "asked_back", "cancelled", "rescheduled", "listed"]
Invariant = Literal["orphans", "double_bookings", "ghosts", "truthfulness"]
OUTCOMES: tuple[str, ...] = ("booked", "refused", "asked_back", "cancelled", "rescheduled", "listed")
INVARIANTS: tuple[Invariant, ...] = ("orphans", "double_bookings", "ghosts", "truthfulness")
FUNCTIONS = FUNCTION_NAMES  # the webhook's own list: a scenario can only name what the core serves


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Now(_Strict):
    """The call's clock. Exactly one of weekday / days_ahead / at."""

    weekday: str | None = None
    days_ahead: int | None = Field(default=None, ge=0, le=60)
    time: str = "10:00"
    at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            weekday, at = parse_relative_now(value)
            return {"weekday": list(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))[weekday],
                    "time": at.strftime("%H:%M")}
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Now:
        kinds = [self.weekday is not None, self.days_ahead is not None, self.at is not None]
        if sum(kinds) > 1:
            raise ValueError("give only one of weekday, days_ahead, at")
        if self.weekday is not None:
            parse_weekday(self.weekday)
        parse_clock_time(self.time)
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("'at' needs a UTC offset, e.g. 2026-12-01T10:00:00+01:00")
        return self

    def resolve(self, real_now: datetime, lane: int = 0) -> datetime:
        if self.at is not None:
            if self.at <= real_now:
                raise ScenarioError(f"now.at {self.at.isoformat()} lies in the past")
            return self.at
        at = parse_clock_time(self.time)
        if self.days_ahead is not None:
            return in_lane(days_ahead_at(self.days_ahead, at, real_now), lane)
        return in_lane(first_weekday_at(parse_weekday(self.weekday or "mon"), at, real_now), lane)


class Caller(_Strict):
    """Who calls. Left open, Faker (de_DE, seeded per scenario) fills them."""

    name: str | None = None
    phone: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")


class FaultRule(BaseModel):
    """One mock_calcom fault rule; kind-specific parameters pass through unchanged."""

    model_config = ConfigDict(extra="allow")

    kind: str
    method: str | None = None
    path: str | None = None
    probability: float = Field(default=1.0, ge=0, le=1)
    count: int | None = Field(default=None, ge=1)
    after: int = Field(default=0, ge=0)


class MockSetup(_Strict):
    """Mock-wide configuration (PUT /_control/config); makes the scenario run alone."""

    race_window_ms: int | None = Field(default=None, ge=0)
    conflict_status: Literal[400, 409] | None = None
    rate_limit: bool | None = None


class ExistingBooking(_Strict):
    """A booking seeded at Cal.com before the call (not made through the core)."""

    service: str
    in_days: int = Field(default=1, ge=0, le=60)
    time: str

    @field_validator("time")
    @classmethod
    def _time(cls, value: str) -> str:
        parse_clock_time(value)
        return value


class Concurrency(_Strict):
    callers: int = Field(default=1, ge=1, le=200)
    spread_ms: int = Field(default=0, ge=0, le=10_000)


class Transport(_Strict):
    """How the simulated Retell platform delivers requests."""

    route: Literal["function-call", "per-function"] = "function-call"
    args_at_root: bool = False
    duplicate_events: bool = False
    # Per attempt, as Retell's tool `timeout_ms`; unset: the tool's setting from `callsim retell-tools`.
    timeout_ms: int | None = Field(default=None, ge=1000, le=600_000)
    timeout_s: float | None = Field(default=None, gt=0, le=60)  # older spelling of timeout_ms
    max_retry: int | None = Field(default=None, ge=0, le=5)  # unset: the tool's setting
    sign: bool = True

    @model_validator(mode="after")
    def _root_needs_route(self) -> Transport:
        if self.args_at_root and self.route != "per-function":
            raise ValueError("args_at_root needs route: per-function")
        return self


AgentStyle = Literal["spoken", "full_turn"]


class Policy(_Strict):
    """Switches of the simulated agent.

    `args`: `spoken` passes the service and date phrases the agent heard; `full_turn` passes the
    caller's whole sentence as `service` and `date_time` (an LLM that does not extract), so the core
    must find them inside it. A list runs the scenario once per style (`<name>--full-turn`).
    """

    check_before_booking: bool = True
    args: AgentStyle | list[AgentStyle] = "spoken"

    @field_validator("args")
    @classmethod
    def _styles(cls, value: AgentStyle | list[AgentStyle]) -> AgentStyle | list[AgentStyle]:
        if isinstance(value, list) and (not value or len(set(value)) != len(value)):
            raise ValueError("give each agent style once")
        return value


class FunctionExpectation(_Strict):
    function: str
    args: dict[str, Any] = Field(default_factory=dict)
    data: dict[str, Any] = Field(default_factory=dict)  # subset of the answer's data
    success: bool | None = None
    error: str | list[str] | None = None

    @field_validator("function")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in FUNCTIONS:
            raise ValueError(f"unknown function {value!r}; one of {', '.join(FUNCTIONS)}")
        return value


class LatencyBound(_Strict):
    """P95 from ≥ 20 samples, else the max, must stay within the bound."""

    function: str | None = None
    side: Literal["client", "server"] = "client"
    p95_ms: float | None = Field(default=None, gt=0)
    max_ms: float | None = Field(default=None, gt=0)


class CallExpectation(_Strict):
    outcome: Outcome | list[Outcome] | None = None
    functions: list[FunctionExpectation] = Field(default_factory=list)
    not_called: list[str] = Field(default_factory=list)
    says: list[str] = Field(default_factory=list)
    says_not: list[str] = Field(default_factory=list)
    last_says: list[str] = Field(default_factory=list)
    latency: list[LatencyBound] = Field(default_factory=list)


class GroupExpectation(_Strict):
    """Over all callers of a concurrency group (their last call)."""

    outcomes: dict[Outcome, int] = Field(default_factory=dict)
    per_outcome: dict[Outcome, CallExpectation] = Field(default_factory=dict)
    latency: list[LatencyBound] = Field(default_factory=list)


class CallScript(_Strict):
    turns: list[str | None]
    expect: CallExpectation = Field(default_factory=CallExpectation)

    @field_validator("turns")
    @classmethod
    def _not_empty(cls, value: list[str | None]) -> list[str | None]:
        if not value:
            raise ValueError("a call needs at least one caller turn ('' or null = silence)")
        return value


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    now: Now = Field(default_factory=lambda: Now(weekday="mon"))
    caller: Caller = Field(default_factory=Caller)
    calls: list[CallScript]
    faults: list[str | FaultRule] = Field(default_factory=list)
    mock: MockSetup | None = None
    core_faults: list[Literal["db_confirm"]] = Field(default_factory=list)
    existing_bookings: list[ExistingBooking] = Field(default_factory=list)
    concurrency: Concurrency = Field(default_factory=Concurrency)
    group: GroupExpectation | None = None
    transport: Transport = Field(default_factory=Transport)
    policy: Policy = Field(default_factory=Policy)
    invariants: list[Invariant] = Field(default_factory=lambda: list(INVARIANTS))
    # Scenarios naming the same lane share one week; their author keeps their slots apart.
    lane: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    settle_ms: int = Field(default=3000, ge=0, le=60_000)
    # Run the operators' reconciler before judging: for faults whose healing the design leaves to it.
    reconcile: bool = False
    exclusive: bool | None = None
    catalog: Literal["default"] = "default"
    seed: int | None = None
    source: str = Field(default="", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _single_call_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict) and "turns" in value:
            if "calls" in value:
                raise ValueError("give either turns/expect (one call) or calls, not both")
            value = dict(value)
            value["calls"] = [{"turns": value.pop("turns"), "expect": value.pop("expect", {})}]
        return value

    @property
    def runs_alone(self) -> bool:
        """Faults and mock config act on the whole mock, so such a scenario must not share it."""
        if self.exclusive is not None:
            return self.exclusive
        # The reconciler (grace 0) would cancel other scenarios' bookings that are still in flight.
        return bool(self.faults or self.mock or self.reconcile)

    def matches(self, pattern: str | None) -> bool:
        if not pattern:
            return True
        needle = pattern.lower()
        if any(ch in needle for ch in "*?["):
            return fnmatch.fnmatch(self.name, needle) or any(fnmatch.fnmatch(t, needle) for t in self.tags)
        return needle in self.name or needle in (t.lower() for t in self.tags)


def _per_style(scenario: Scenario) -> list[Scenario]:
    """One scenario per agent style; a style after the first gets its own name and lane (week)."""
    styles = scenario.policy.args
    if not isinstance(styles, list):
        return [scenario]
    variants = []
    for index, style in enumerate(styles):
        suffix = "" if index == 0 else f"--{style.replace('_', '-')}"
        variant = scenario.model_copy(deep=True, update={
            "name": scenario.name + suffix,
            "lane": (scenario.lane + suffix) if scenario.lane and suffix else scenario.lane,
            "policy": scenario.policy.model_copy(update={"args": style}),
            "tags": [*scenario.tags, style] if suffix else scenario.tags,
        })
        variant.source = scenario.source
        variants.append(variant)
    return variants


def _format_validation(path: Path, index: int | None, error: ValidationError) -> str:
    where = f"{path}" + (f" [scenario {index}]" if index is not None else "")
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"{where}: {loc}: {item['msg']}")
    return "\n".join(lines)


def _parse_entries(path: Path, document: Any) -> list[Scenario]:
    if isinstance(document, dict) and "scenarios" in document:
        defaults = document.get("defaults") or {}
        entries = document["scenarios"]
        if not isinstance(entries, list) or not isinstance(defaults, dict):
            raise ScenarioError(f"{path}: 'scenarios' must be a list and 'defaults' a mapping")
        unknown = set(document) - {"scenarios", "defaults"}
        if unknown:
            raise ScenarioError(f"{path}: unknown top-level keys {sorted(unknown)}")
    elif isinstance(document, dict):
        defaults, entries = {}, [document]
    else:
        raise ScenarioError(f"{path}: expected a mapping (one scenario) or 'scenarios: [...]'")
    scenarios = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise ScenarioError(f"{path} [scenario {index}]: expected a mapping")
        base = {k: v for k, v in defaults.items() if not ("calls" in entry and k in ("turns", "expect"))}
        merged = {**base, **entry}
        try:
            scenario = Scenario.model_validate(merged)
        except ValidationError as error:
            raise ScenarioError(_format_validation(path, index if len(entries) > 1 else None, error)) from None
        scenario.source = str(path)
        scenarios.extend(_per_style(scenario))
    return scenarios


def load_file(path: Path) -> list[Scenario]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ScenarioError(f"{path}: invalid YAML: {error}") from None
    except OSError as error:
        raise ScenarioError(f"{path}: {error.strerror}") from None
    return _parse_entries(path, document)


def load_scenarios(paths: list[Path], pattern: str | None = None) -> list[Scenario]:
    """All scenarios of the given files/folders (*.yaml, *.yml), filtered by -k pattern."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            files.append(path)
        else:
            raise ScenarioError(f"{path}: no such file or folder")
    scenarios: list[Scenario] = []
    seen: dict[str, str] = {}
    for file in files:
        for scenario in load_file(file):
            if scenario.name in seen:
                raise ScenarioError(
                    f"{file}: name: scenario {scenario.name!r} is already defined in {seen[scenario.name]}"
                )
            seen[scenario.name] = str(file)
            scenarios.append(scenario)
    return [s for s in scenarios if s.matches(pattern)]
