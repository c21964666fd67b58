"""What a run records: every function call and utterance of every call, and the verdicts.

These models are the single source for all reports (console, JUnit, JSON, HTML) and for the
truthfulness check, which compares what callers were told with what Cal.com and the DB hold.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class FunctionCallRecord(BaseModel):
    name: str
    args: dict[str, Any]
    route: str
    attempts: int = 0
    client_ms: float | None = None
    server_ms: float | None = None
    status_code: int | None = None
    success: bool | None = None
    error: str | None = None
    message: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    transport_error: str | None = None
    spoken: bool = False


class EventDelivery(BaseModel):
    event: str
    attempts: int
    status_code: int | None = None
    error: str | None = None


class Utterance(BaseModel):
    role: Literal["agent", "user"]
    text: str
    unplaced: list[str] = Field(default_factory=list)  # caller words the agent could not place: it asked back


class CallRecord(BaseModel):
    scenario: str
    call_index: int
    caller_index: int
    call_id: str
    from_number: str
    caller_name: str
    now: str
    utterances: list[Utterance] = Field(default_factory=list)
    functions: list[FunctionCallRecord] = Field(default_factory=list)
    events: list[EventDelivery] = Field(default_factory=list)
    outcome: str = "asked_back"
    failures: list[str] = Field(default_factory=list)

    @property
    def agent_text(self) -> str:
        return " ".join(u.text for u in self.utterances if u.role == "agent")

    @property
    def transcript(self) -> str:
        return "\n".join(f"{'Agent' if u.role == 'agent' else 'User'}: {u.text}"
                         + (f"  [unplaced: {', '.join(u.unplaced)}]" if u.unplaced else "") for u in self.utterances)

    @property
    def unplaced_turns(self) -> int:
        return sum(1 for u in self.utterances if u.unplaced)

    def turns(self) -> int:
        return sum(1 for u in self.utterances if u.role == "user")


class Violation(BaseModel):
    """One broken invariant, in words an operator acts on."""

    invariant: Literal["orphans", "double_bookings", "ghosts", "truthfulness"]
    detail: str
    key: str
    call_ids: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)


class LatencySummary(BaseModel):
    samples: int
    stat: Literal["p95", "max"]
    value_ms: float | None

    def label(self) -> str:
        if self.value_ms is None:
            return "–"
        return f"{self.stat} {self.value_ms:.0f} ms"


class ScenarioResult(BaseModel):
    name: str
    source: str
    description: str = ""
    outcome: str = ""
    passed: bool = False
    failures: list[str] = Field(default_factory=list)
    violations: list[Violation] = Field(default_factory=list)
    invariants_checked: list[str] = Field(default_factory=list)
    calls: list[CallRecord] = Field(default_factory=list)
    client_latency: LatencySummary | None = None
    server_latency: LatencySummary | None = None
    duration_s: float = 0.0
    ran_alone: bool = False
    reconciled: dict[str, Any] | None = None  # the reconciler's report, when the scenario asked for it

    @property
    def turns(self) -> int:
        return sum(call.turns() for call in self.calls)

    @property
    def unplaced_turns(self) -> int:
        return sum(call.unplaced_turns for call in self.calls)


class RunResult(BaseModel):
    started_at: str
    duration_s: float = 0.0
    webhook_url: str = ""
    calcom_url: str = ""
    database_url: str | None = None
    scenarios: list[ScenarioResult] = Field(default_factory=list)
    suite_violations: list[Violation] = Field(default_factory=list)
    client_latency: dict[str, LatencySummary] = Field(default_factory=dict)
    server_latency: dict[str, LatencySummary] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    phases_s: dict[str, float] = Field(default_factory=dict)  # where the wall time went

    @property
    def passed(self) -> bool:
        return not self.errors and not self.suite_violations and all(s.passed for s in self.scenarios)

    def failure_lines(self) -> list[str]:
        lines = [f"run: {error}" for error in self.errors]
        for scenario in self.scenarios:
            lines += [f"{scenario.name}: {failure}" for failure in scenario.failures]
        lines += [f"suite: {v.invariant}: {v.detail}" for v in self.suite_violations]
        return lines
