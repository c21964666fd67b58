"""The four load profiles: who calls, how often, about what, with which Cal.com, and the budgets.

Think time is what a phone call really has between two function calls: the agent speaks the
answer, the caller replies (3-8 s); smoke alone is compressed, to cover every function in seconds.

Budgets are what callers may wait on this project's reference machine (2 cores running Locust,
the core and the mock together); a profile's defaults for users, spawn rate and run time are what
`python -m load.run PROFILE` passes to Locust, and any Locust option given there wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from booking_core.schemas import FUNCTION_NAMES
from load.answers import DEGRADED_REFUSALS, REFUSALS

# The callers' mix: what a salon chain's phones hear on a Monday morning.
SALON_DEMAND: dict[str, float] = {
    "Herrenschnitt": 22, "Damenschnitt": 18, "Waschen, Schneiden, Föhnen": 10, "Kinderhaarschnitt": 8,
    "Färben": 7, "Ansatzfärben": 6, "Herrenschnitt mit Bart": 6, "Strähnchen": 4, "Föhnen": 4,
    "Bartpflege": 4, "Tönung": 3, "Maschinenhaarschnitt": 3, "Balayage": 2, "Dauerwelle": 1,
    "Pony schneiden": 2,
}
# One stylist's short services: different lengths on one calendar, so neighbouring starts overlap.
STORM_DEMAND: dict[str, float] = {"Herrenschnitt": 5, "Herrenschnitt mit Bart": 3, "Bartpflege": 2}

# What Cal.com does wrong in `cal-degraded`, per kind: a rate of all Cal.com requests.
FAULT_KINDS = {
    # just under the core's 1.5 s client timeout
    "slow": lambda rate: {"kind": "latency_just_under", "probability": rate},
    # never answers (the mock bounds it): the core must time out and answer anyway
    "hang": lambda rate: {"kind": "hang", "probability": rate},
    "error": lambda rate: {"kind": "http_503", "probability": rate},
}


def parse_fault_mix(text: str) -> dict[str, float]:
    """`slow=0.2,hang=0.05,error=0.05` → {kind: rate}; empty text, no faults."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, rate = part.partition("=")
        kind = kind.strip()
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} in --fault-mix (known: {', '.join(FAULT_KINDS)})")
        try:
            value = float(rate)
        except ValueError:
            raise ValueError(f"--fault-mix {kind} needs a rate between 0 and 1, got {rate!r}") from None
        if not 0 <= value <= 1:
            raise ValueError(f"--fault-mix {kind}={value}: a rate is between 0 and 1")
        mix[kind] = value
    return mix


def fault_rules(mix: dict[str, float]) -> list[dict[str, Any]]:
    """mock_calcom fault rules for a mix; the kinds that decide an outcome are exclusive per request."""
    return [FAULT_KINDS[kind](rate) for kind, rate in mix.items() if rate > 0]


def parse_seconds(text: str) -> tuple[float, float]:
    """`1,3` → (1.0, 3.0): a range of seconds."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"expected LOW,HIGH seconds, got {text!r}") from None
    if not 0 <= low <= high:
        raise ValueError(f"expected 0 ≤ LOW ≤ HIGH, got {text!r}")
    return low, high


@dataclass(frozen=True)
class Budget:
    p95_ms: float
    p99_ms: float


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    script: str  # a key of load.calls.SCRIPTS
    users: int
    spawn_rate: float
    run_time: str
    think_s: tuple[float, float]  # between the turns of one call
    between_calls_s: tuple[float, float]  # one caller hangs up, the next dials
    slots: int
    slot_layout: str  # "spread" over many days or a "handful" on one morning
    demand: dict[str, float]
    budgets: dict[str, Budget]  # per function; "*" for the rest
    max_failure_ratio: float
    contention_p95_ms: float  # a caller who lost the slot hears so within this
    min_booked: int  # "gebucht" answers a run must produce, or it proved nothing
    race_window_ms: int = 0
    fault_mix: str = ""
    expected_refusals: frozenset[str] = REFUSALS
    # The core's LOCK_TTL_S: a booking answered later than this may have outlived its lock.
    lock_ttl_s: float = 10.0
    # Functions that must have answered successfully at least once, or the run did not cover them.
    must_succeed: tuple[str, ...] = ()

    def budget(self, function: str) -> Budget:
        return self.budgets.get(function, self.budgets["*"])


VOICE = Budget(p95_ms=1600, p99_ms=2500)

PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile(
        name="smoke", description="a few callers for seconds; every function at least once",
        script="tour", users=4, spawn_rate=4, run_time="8s", think_s=(0.1, 0.3), between_calls_s=(0.1, 0.5),
        slots=400, slot_layout="spread", demand=SALON_DEMAND, budgets={"*": VOICE},
        max_failure_ratio=0.0, contention_p95_ms=1000, min_booked=1, must_succeed=FUNCTION_NAMES,
    ),
    Profile(
        name="peak", description="Monday morning at a salon chain: many calls, mostly availability checks, "
                                 "about one booking per call, spread over many slots",
        script="peak", users=150, spawn_rate=15, run_time="3m", think_s=(3.0, 8.0), between_calls_s=(1.0, 3.0),
        slots=5000, slot_layout="spread", demand=SALON_DEMAND, budgets={"*": VOICE},
        max_failure_ratio=0.01, contention_p95_ms=1000, min_booked=10,
    ),
    Profile(
        name="race-storm", description="many callers fighting over a handful of one stylist's slots",
        script="storm", users=200, spawn_rate=50, run_time="60s", think_s=(3.0, 8.0),
        between_calls_s=(1.0, 3.0), slots=4, slot_layout="handful", demand=STORM_DEMAND,
        budgets={"*": VOICE}, max_failure_ratio=0.01, contention_p95_ms=1000, min_booked=5, race_window_ms=50,
    ),
    Profile(
        name="cal-degraded", description="Cal.com slow (just under the timeout), hanging and failing at set rates",
        script="peak", users=60, spawn_rate=10, run_time="90s", think_s=(3.0, 8.0), between_calls_s=(1.0, 3.0),
        slots=5000, slot_layout="spread", demand=SALON_DEMAND, budgets={"*": VOICE},
        max_failure_ratio=0.01, contention_p95_ms=1600, min_booked=5, fault_mix="slow=0.15,hang=0.05,error=0.05",
        expected_refusals=REFUSALS | DEGRADED_REFUSALS,
    ),
)}
