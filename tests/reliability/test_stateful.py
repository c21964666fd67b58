"""Generated schedules of bookings, cancels and reschedules under generated faults, on the real stack.

`make test` runs a bounded, derandomized run on SQLite plus two deliberately broken cores that the
same run must catch; `make soak` runs ≥ 10,000 operations on SQLite and on PostgreSQL + Redis.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from harness.history import History, check, final_state
from harness.invariants import find_violations
from harness.stack import StackOptions
from tests.reliability.booking_machine import NEW_RULES, Totals, make_machine, new_rules_from_env
from tests.reliability.live_stack import BackgroundLoop, LiveStack, live_stack
from tests.reliability.outages import TcpGate, postgres_database_timezone
from tests.reliability.schedule import CALLERS, booking_day, salon_slots
from tests.support.services import POSTGRES_ADMIN_URL

# RECONCILE_INTERVAL_S=0: the machine decides when the reconciler runs. LOCK_TTL_S=0.5: slow Cal.com
# creates outlive the lock, so lock expiry mid-SAGA is part of what gets drawn. RECONCILE_GRACE_S=2:
# the grace the "reconcile" rule's passes use, scaled with the lock TTL as production's 30 s are
# with its 10 s, so a pass mid-schedule meets young and stale rows alike.
MACHINE_ENV = {"RECONCILE_INTERVAL_S": "0", "LOCK_TTL_S": "0.5", "RECONCILE_GRACE_S": "2"}
# The newer rules (booking_machine.NEW_RULES) this run draws: all unless CALLSIM_STATEFUL_NEW_RULES narrows them.
NEW_RULES_ON = new_rules_from_env()
LATENCY_BUDGET_S = 1.6  # P95 of the answers, faults and all (DESIGN)
BOUNDED = settings(max_examples=5, stateful_step_count=10, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck), print_blob=False)
# With opt-in rules drawn too, each rule gets fewer steps: a few more examples keep the old ones' share.
BOUNDED_WITH_NEW_RULES = settings(BOUNDED, max_examples=8, stateful_step_count=12)
# A broken core must be caught by the bounded run as it is; shrinking it is not the point here.
BROKEN = settings(BOUNDED, phases=[Phase.explicit, Phase.generate])
# No shrinking: against a live stack a shrink replays schedules for minutes and often ends Flaky;
# the first failing schedule is printed as a scenario file anyway.
SOAK_BATCH = settings(max_examples=25, stateful_step_count=40, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), print_blob=True,
                      phases=[Phase.explicit, Phase.generate])


def run_machine(stack: LiveStack, totals: Totals, run_settings: settings, **options: object) -> None:
    options.setdefault("reconcile_grace_s", float(MACHINE_ENV["RECONCILE_GRACE_S"]))
    machine = make_machine(stack, salon_slots(stack, booking_day()), totals, **options)  # type: ignore[arg-type]
    try:
        run_state_machine_as_test(machine, settings=run_settings)
    except Exception as error:
        # Against a live stack hypothesis' replay of the failing example can draw differently and end
        # in FlakyStrategyDefinition, which carries none of the anomaly's notes: the schedule that
        # failed first must still be shown.
        if totals.first_reproduction and not any("scenarios:" in n for n in notes(error)):
            error.add_note(totals.first_reproduction)
        raise


@pytest.fixture(scope="module")
def sqlite_stack() -> Iterator[LiveStack]:
    with live_stack(StackOptions(extra_env=MACHINE_ENV)) as stack:
        yield stack


def test_generated_schedules_keep_every_invariant(sqlite_stack: LiveStack) -> None:
    totals = Totals()
    run_machine(sqlite_stack, totals, BOUNDED_WITH_NEW_RULES if NEW_RULES_ON else BOUNDED, new_rules=NEW_RULES_ON)
    print(f"\nstateful (SQLite, bounded): {totals.summary()}")
    assert totals.anomalies == []
    assert totals.operations >= 40, totals.summary()
    assert totals.faults_injected >= 5, totals.summary()
    assert (totals.p95_s() or 0) <= LATENCY_BUDGET_S, totals.summary()


@pytest.mark.parametrize(("switch", "expected"), [
    ({"LOCK_ENABLED": "false"}, ("double booking", "two winners")),
    ({"COMPENSATION_ENABLED": "false"}, ("orphan",)),
], ids=["lock-off", "compensation-off"])
def test_a_broken_core_is_caught(switch: dict[str, str], expected: tuple[str, ...]) -> None:
    totals = Totals()
    with live_stack(StackOptions(extra_env=MACHINE_ENV | switch)) as stack:
        # Without the lock only Cal.com's own check stands in the way, and real Cal.com has a race window.
        race_windows = (50,) if "LOCK_ENABLED" in switch else (0, 50)
        with pytest.raises(Exception) as caught:  # noqa: B017 - an anomaly, or hypothesis' Flaky around it
            run_machine(stack, totals, BROKEN, race_windows_ms=race_windows)
    print(f"\nbroken core ({switch}): caught in example {totals.first_caught_in_example}; {totals.summary()}\n"
          f"first anomaly: {totals.anomalies[:1]}")
    assert any(phrase in anomaly for anomaly in totals.anomalies for phrase in expected), totals.anomalies
    assert "scenarios:" in "\n".join(notes(caught.value)), "no reproduction printed"


# The PostgreSQL server's TimeZone for the opt-in rules' runs: a server initdb'd west of UTC is a
# legal configuration, and the "reconcile" rule's passes mid-schedule must not care (review F6).
PG_SERVER_ZONE = "America/New_York"


@contextmanager
def gated_postgres_stack(postgres_url: str, redis_url: str | None = None) -> Iterator[tuple[LiveStack, TcpGate]]:
    """The core reaches PostgreSQL through a TCP gate the "dbkill" rule shuts; the checker reads
    the database straight."""
    loop = BackgroundLoop()
    try:
        parts = urlsplit(postgres_url)
        if NEW_RULES_ON:
            postgres_database_timezone(POSTGRES_ADMIN_URL, parts.path.lstrip("/"), PG_SERVER_ZONE)
        gate = TcpGate(loop, parts.port or 5432)
        gate.open()
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        gated = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{gate.port}"))
        options = StackOptions(database_url=gated, redis_url=redis_url, extra_env=MACHINE_ENV)
        with live_stack(options, direct_database_url=postgres_url) as stack:
            yield stack, gate
        gate.close()
    finally:
        loop.close()


# About a minute on its own: `make test` leaves it to `make soak` (which runs the same rules on the
# same gated stack at length) unless the rules are asked for by name.
@pytest.mark.skipif(not NEW_RULES_ON & {"dbkill", "reconcile"}
                    or "CALLSIM_STATEFUL_NEW_RULES" not in os.environ,
                    reason="CALLSIM_STATEFUL_NEW_RULES=dbkill or reconcile (or 1); `make soak` runs them at length")
def test_generated_schedules_keep_every_invariant_on_postgres_with_the_database_cut(postgres_url: str) -> None:
    totals = Totals()
    with gated_postgres_stack(postgres_url) as (stack, gate):
        run_machine(stack, totals, BOUNDED_WITH_NEW_RULES, new_rules=NEW_RULES_ON, db_gate=gate)
    print(f"\nstateful (PostgreSQL behind a gate, bounded): {totals.summary()}")
    assert totals.anomalies == []


def test_the_new_rules_switch_reads_names_and_refuses_unknown_ones() -> None:
    assert new_rules_from_env("") == frozenset()
    assert new_rules_from_env("1") == frozenset(NEW_RULES)
    assert new_rules_from_env("repeat, kill") == {"repeat", "kill"}
    with pytest.raises(ValueError, match="unknown"):
        new_rules_from_env("repeat,typo")


def notes(error: BaseException) -> list[str]:
    """What hypothesis attached to the failure (its notes), including inside exception groups."""
    found = list(getattr(error, "__notes__", []))
    for inner in getattr(error, "exceptions", []):
        found += notes(inner)
    return found


# -- minimal reproductions of what the generated schedules found ------------------------------------

def test_a_create_that_lands_after_the_core_gave_up_does_not_double_book(sqlite_stack: LiveStack) -> None:
    """Found by `make soak` (SQLite, ~650 operations): Cal.com is slow to process Anna's create, the
    core times out, finds nothing, answers "nicht gebucht" and frees the slot; Ben books it; then
    Anna's create lands inside Cal.com's check-then-insert window. Cal.com holds two accepted bookings
    of one stylist at one time until the reconciler cancels Anna's. Both answers were true, but the
    salon's calendar was double-booked: the slot of an unknown outcome must stay taken until it is
    known."""
    stack = sqlite_stack
    stack.reset_mock(seed=7)
    stack.wipe_bookings()
    d12 = {s.label: s for s in salon_slots(stack, booking_day())}["D12"]
    stack.configure_mock(race_window_ms=600)
    stack.set_faults([{"kind": "latency", "ms": 1500, "method": "POST", "path": "/v2/bookings", "count": 1}])
    history = History()
    try:
        for caller in CALLERS[:2]:
            op = history.invoke(caller.phone, "book", f"call_late_{caller.phone[-2:]}", d12.slot)
            answer = stack.call("book_appointment", {"service": d12.service, "date_time": d12.iso,
                                                     "customer_name": caller.name},
                                call_id=op.call_id, phone=caller.phone)
            history.complete(op, "ok" if answer.success else "fail", message=answer.message, error=answer.error,
                             appointment_id=answer.data.get("appointment_id"))
        time.sleep(1.0)  # Anna's create is still inside Cal.com
    finally:
        stack.set_faults([])
        stack.configure_mock(race_window_ms=0)
    stack.wait_quiet()
    assert stack.reconcile()["errors"] == []
    snapshot = stack.snapshot()
    assert check(history.operations, final_state(snapshot)) == []  # every answer was true
    assert [v.detail for v in find_violations(snapshot)] == []


def test_a_reschedule_answers_within_the_budget_when_calcom_hangs(sqlite_stack: LiveStack) -> None:
    """Found by `make soak` (slowest answer 2.2 s): a reschedule spends up to the whole Cal.com budget
    on the new booking and then a second whole budget on cancelling the old one."""
    stack = sqlite_stack
    stack.reset_mock(seed=8)
    stack.wipe_bookings()
    slots = {s.label: s for s in salon_slots(stack, booking_day())}
    anna = CALLERS[0]
    assert stack.call("book_appointment", {"service": "Herrenschnitt", "date_time": slots["H10"].iso,
                                           "customer_name": anna.name}, phone=anna.phone).success
    stack.set_faults([{"kind": "latency", "ms": 900, "method": "POST", "path": "/v2/bookings"},
                      {"kind": "hang", "seconds": 5, "method": "POST", "path": "/v2/bookings/*/cancel"}])
    try:
        answer = stack.call("reschedule_appointment", {"old_date_time": slots["H10"].iso,
                                                       "new_date_time": slots["H1030"].iso}, phone=anna.phone)
    finally:
        stack.set_faults([])
    assert answer.status == 200, answer.body
    assert answer.elapsed_s <= LATENCY_BUDGET_S, f"answered after {answer.elapsed_s:.2f} s: {answer.message}"


@pytest.mark.soak
@pytest.mark.parametrize("backend", ["sqlite", "postgres+redis"])
def test_soak(backend: str, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]) -> None:
    wanted = int(os.environ.get("CALLSIM_SOAK_OPERATIONS", "10000"))
    limit_s = float(os.environ.get("CALLSIM_SOAK_LIMIT_S", "5400"))  # bounded: stop and fail past it
    totals = Totals()
    started = time.monotonic()
    try:
        with ExitStack() as running:
            gate = None
            if backend == "postgres+redis":
                stack, gate = running.enter_context(gated_postgres_stack(request.getfixturevalue("postgres_url"),
                                                                         request.getfixturevalue("redis_url")))
            else:
                stack = running.enter_context(live_stack(StackOptions(extra_env=MACHINE_ENV)))
            while totals.operations < wanted and time.monotonic() - started < limit_s:
                run_machine(stack, totals, SOAK_BATCH, new_rules=NEW_RULES_ON, db_gate=gate)
                with capsys.disabled():
                    print(f"\nsoak ({backend}, {time.monotonic() - started:.0f} s): {totals.summary()}", flush=True)
    finally:
        with capsys.disabled():  # the totals are the point of `make soak`: shown even on success
            print(f"\nSOAK TOTALS ({backend}): operations {totals.operations}, faults injected "
                  f"{totals.faults_injected}, anomalies {len(totals.anomalies)}", flush=True)
    assert totals.anomalies == []
    assert totals.operations >= wanted, f"only {totals.operations} operations within {limit_s:.0f} s"
    assert (totals.p95_s() or 0) <= LATENCY_BUDGET_S, totals.summary()
