"""Fault rules: what goes wrong, on which route, how often; and the plan they make for one request."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal[
    "latency",
    "random_latency",
    "latency_just_under",
    "latency_just_over",
    "hang",
    "slow_body",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "http_429",
    "http_401",
    "http_error",
    "reset",
    "empty_reply",
    "malformed_json",
    "truncated_json",
    "stale_slots",
    "commit_then_timeout",
    "commit_then_500",
    "commit_then_reset",
    "reject_then_reset",
    "partial_body",
    "headers_then_hang",
    "reset_mid_body",
    "garbage_then_close",
    "bandwidth",
    "outage",
    "unexpected_booking",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
# Delays add up and precede whatever else happens; flags change how a handler answers; every other
# kind decides the request's outcome, and only the first of those that fires is applied.
DELAY_KINDS = frozenset({"latency", "random_latency", "latency_just_under", "latency_just_over"})
FLAG_KINDS = frozenset({"stale_slots"})


class FaultRule(BaseModel):
    """One fault and its scope. Parameters a kind does not use are ignored."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    method: str | None = Field(default=None, description="HTTP method; None or '*' = any")
    path: str | None = Field(
        default=None, description="exact path, '*' matches one segment; None = any"
    )
    probability: float = Field(default=1.0, ge=0, le=1)
    count: int | None = Field(
        default=None, ge=0, description="only the N matching requests after `after`"
    )
    after: int = Field(default=0, ge=0, description="let the first N matching requests through")
    # latency kinds
    ms: float | None = Field(default=None, ge=0)
    distribution: Literal["uniform", "lognormal"] = "uniform"
    min_ms: float = Field(default=0, ge=0)
    max_ms: float | None = Field(default=None, ge=0)
    median_ms: float = Field(default=200, gt=0)
    sigma: float = Field(default=0.5, ge=0)
    client_timeout_ms: float = Field(default=1500, gt=0)
    margin_ms: float = Field(default=100, ge=0)
    # hang, commit_then_timeout, headers_then_hang, outage (how long the port stays closed)
    seconds: float | None = Field(default=None, gt=0)
    # bandwidth: the response body trickles at this many bytes per second
    bytes_per_s: float = Field(default=200, gt=0)
    # slow_body
    chunk_delay_ms: float = Field(default=2000, ge=0)
    chunks: int = Field(default=4, ge=2)
    # http_error / http_429
    status: int | None = Field(default=None, ge=400, le=599)
    reset_s: int = Field(default=60, ge=0)
    # malformed_json, truncated_json, partial_body, ...: whether the request is processed before
    # the answer is spoilt
    commit: bool | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (None, "*") and self.method.upper() != method:
            return False
        return self.path is None or path_matches(self.path, path)

    def delay_ms(self, rng: random.Random, cap_ms: float) -> float:
        if self.kind == "latency":
            return self.ms if self.ms is not None else 500
        if self.kind == "latency_just_under":
            return max(0.0, self.client_timeout_ms - self.margin_ms)
        if self.kind == "latency_just_over":
            return self.client_timeout_ms + self.margin_ms
        if self.distribution == "lognormal":
            drawn = rng.lognormvariate(math.log(self.median_ms), self.sigma)
            return min(drawn, self.max_ms if self.max_ms is not None else cap_ms)
        return rng.uniform(self.min_ms, self.max_ms if self.max_ms is not None else 1000)


def path_matches(pattern: str, path: str) -> bool:
    wanted = pattern.rstrip("/").split("/")
    actual = path.rstrip("/").split("/")
    return len(wanted) == len(actual) and all(
        w in ("*", a) for w, a in zip(wanted, actual, strict=True)
    )


def parse_fault_header(value: str) -> list[FaultRule]:
    """`X-Mock-Fault: kind[;param=value...][, kind...]`, e.g. `latency;ms=300, http_503`."""
    rules = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        kind, *params = [p.strip() for p in part.split(";")]
        fields: dict[str, Any] = {"kind": kind}
        for param in filter(None, params):
            name, _, raw = param.partition("=")
            fields[name.strip()] = _scalar(raw.strip())
        rules.append(FaultRule.model_validate(fields))
    return rules


def _scalar(raw: str) -> Any:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


@dataclass
class RuleCounter:
    rule: FaultRule
    seen: int = 0
    hits: int = 0

    def fires(self, rng: random.Random, *, shadowed: bool = False) -> bool:
        """Count the request; True if the rule applies to it. A shadowed rule (another outcome already
        won) still counts the request, so `after`/`count` always mean "matching requests"."""
        self.seen += 1
        if self.seen <= self.rule.after:
            return False
        if self.rule.count is not None and self.seen > self.rule.after + self.rule.count:
            return False
        # Only draw when chance is involved, so adding a certain rule never shifts another rule's draws.
        if self.rule.probability < 1 and rng.random() >= self.rule.probability:
            return False
        if shadowed:
            return False
        self.hits += 1
        return True


@dataclass
class FaultPlan:
    """What the injector does to one request."""

    delay_ms: float = 0
    flags: set[str] = field(default_factory=set)
    outcome: FaultRule | None = None
    applied: list[str] = field(default_factory=list)

    def add(self, rule: FaultRule, rng: random.Random, cap_ms: float) -> None:
        if rule.kind in DELAY_KINDS:
            self.delay_ms += rule.delay_ms(rng, cap_ms)
        elif rule.kind in FLAG_KINDS:
            self.flags.add(rule.kind)
        else:
            self.outcome = rule
        self.applied.append(rule.kind)


class FaultBook:
    """The rules in force, with per-rule counters that give `after`/`count` their meaning."""

    def __init__(self) -> None:
        self.counters: list[RuleCounter] = []

    def replace(self, rules: list[FaultRule]) -> None:
        self.counters = [RuleCounter(rule) for rule in rules]

    def add(self, rules: list[FaultRule]) -> None:
        self.counters.extend(RuleCounter(rule) for rule in rules)

    def clear(self) -> None:
        self.counters = []

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {
                **c.rule.model_dump(exclude_defaults=True),
                "kind": c.rule.kind,
                "seen": c.seen,
                "hits": c.hits,
            }
            for c in self.counters
        ]

    def plan(
        self,
        method: str,
        path: str,
        header_rules: list[FaultRule],
        rng: random.Random,
        cap_ms: float,
    ) -> FaultPlan:
        """Every rule in scope counts the request; delays that fire add up; the first outcome that fires wins."""
        plan = FaultPlan()
        candidates = [RuleCounter(rule) for rule in header_rules] + [
            c for c in self.counters if c.rule.matches(method, path)
        ]
        for counter in candidates:
            is_outcome = counter.rule.kind not in DELAY_KINDS | FLAG_KINDS
            if counter.fires(rng, shadowed=is_outcome and plan.outcome is not None):
                plan.add(counter.rule, rng, cap_ms)
        return plan
