"""Phone calls against the Retell webhook, one profile at a time, ending in gates that set the exit code.

Usually started by `python -m load.run PROFILE` (which also starts mock_calcom and the core). Straight
with Locust, against a running stack:

    locust -f load/locustfile.py --headless --host http://127.0.0.1:8000 --profile peak \\
        -u 100 -r 10 -t 2m --stop-timeout 10 --calcom-url http://127.0.0.1:8001 \\
        --database-url postgresql://callsim@127.0.0.1/callsim --csv reports/load/peak --html reports/load/peak.html

Custom options (everything else is Locust's own):
  --profile NAME         smoke | peak | race-storm | cal-degraded (callers' script, think time, budgets)
  --slots N              distinct starts callers aim at (default: the profile's)
  --think-s LOW,HIGH     seconds between a caller's turns (default: the profile's)
  --fault-mix MIX        Cal.com faults, e.g. slow=0.15,hang=0.05,error=0.05 (default: the profile's)
  --race-window-ms MS    mock_calcom's check-then-insert window during the run (default: the profile's)
  --calcom-url URL       mock_calcom (faults, race window) and Cal.com for the invariant gates
  --database-url URL     the core's DB for the invariant gates (reconcile first, then check)
  --calcom-api-key KEY   for reconcile and check (default: $CALCOM_API_KEY or cal_test_key)
  --retell-api-key KEY   sign requests like Retell (default: $RETELL_API_KEY; unset: unsigned)

Distributed: `--processes N` forks N workers on this machine; across machines start
`locust -f load/locustfile.py --master --expect-workers N ...` with all options above, and
`locust -f load/locustfile.py --worker --master-host HOST` on each worker. Workers receive the custom
options from the master, send what their callers heard with every report, and flush the rest when the
master stops; only the master touches mock_calcom and runs the gates.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import tempfile
import time
import traceback
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import gevent
import httpx
from faker import Faker
from locust import FastHttpUser, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness.invariants import claims_booked
from harness.retell import sign
from harness.stack import CALCOM_TEST_KEY
from load import audit, calcom_setup, gates
from load.answers import AnswerLog, Heard, failure_reason, read_answer, retryable
from load.calls import SCRIPTS, Answer, Caller, Script, Turn
from load.core_metrics import lock_figures
from load.profiles import PROFILES, Profile, fault_rules, parse_fault_mix, parse_seconds
from load.slots import SlotSpace

RETELL_TIMEOUT_S = 8.0
RETELL_RETRIES = 2
# In-flight turns finish at stop (at worst every attempt times out), so every answer a caller heard
# is in the record the truthfulness gate reads.
STOP_TIMEOUT_S = RETELL_TIMEOUT_S * (1 + RETELL_RETRIES)
FLUSH_TIMEOUT_S = STOP_TIMEOUT_S + 20
SALON_NUMBER = "+493012345670"

DEFAULT_PROFILE = "smoke"

LOG = AnswerLog()
_run: dict[str, Any] = {}  # this process's profile and slot space, set at test start
_flushed: set[str] = set()
_faker = Faker("de_DE")
# httpx logs every request at INFO; the gates' few requests are not news.
logging.getLogger("httpx").setLevel(logging.WARNING)


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    # `--profile` itself is Locust's own option ("group test runs"); it names our profile too.
    group = parser.add_argument_group("callsim load profile (--profile smoke|peak|race-storm|cal-degraded)")
    # Locust forwards only custom options to workers: the master copies --profile into this one.
    group.add_argument("--callsim-profile", default="", help=argparse.SUPPRESS)
    group.add_argument("--slots", type=int, default=0, help="Distinct starts callers aim at (0: profile's).")
    group.add_argument("--think-s", default="", metavar="LOW,HIGH",
                       help="Seconds between a caller's turns (default: the profile's).")
    group.add_argument("--fault-mix", default=None, help="Cal.com faults, e.g. slow=0.15,hang=0.05,error=0.05.")
    group.add_argument("--race-window-ms", type=int, default=-1, help="mock_calcom race window (-1: profile's).")
    group.add_argument("--calcom-url", default="", help="mock_calcom / Cal.com for faults and invariant gates.")
    group.add_argument("--database-url", default="", help="The core's DB for the invariant gates.")
    group.add_argument("--calcom-api-key", default=os.environ.get("CALCOM_API_KEY") or CALCOM_TEST_KEY,
                       help="Cal.com API key for reconcile and check.")
    group.add_argument("--retell-api-key", default=os.environ.get("RETELL_API_KEY", ""),
                       help="Sign requests with this Retell key (empty: unsigned).")


def _options(environment: Environment) -> Any:
    assert environment.parsed_options is not None, "the load profiles run under the locust command"
    return environment.parsed_options


def _profile(environment: Environment) -> Profile:
    options = _options(environment)
    return PROFILES[options.profile or options.callsim_profile or DEFAULT_PROFILE]


def _fault_mix(environment: Environment) -> dict[str, float]:
    chosen = _options(environment).fault_mix
    return parse_fault_mix(_profile(environment).fault_mix if chosen is None else chosen)


def _race_window_ms(environment: Environment) -> int:
    chosen = _options(environment).race_window_ms
    return _profile(environment).race_window_ms if chosen < 0 else chosen


def _signed(body: bytes, key: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["X-Retell-Signature"] = sign(key, body)
    return headers


def _durations(host: str, key: str) -> dict[str, int]:
    """Service lengths from the webhook itself, so starts are chosen where a service fits the day."""
    body = json.dumps({"name": "get_available_services", "args": {},
                       "call": {"call_id": f"load-catalog-{uuid.uuid4()}"}}).encode()
    try:
        response = httpx.post(f"{host.rstrip('/')}/api/retell/function-call", content=body,
                              headers=_signed(body, key), timeout=10)
        services = response.json().get("data", {}).get("services", [])
    except (httpx.HTTPError, ValueError) as error:
        print(f"load: could not read the service catalog ({error}); assuming 60-minute services")
        return {}
    return {str(s["name"]): int(s["duration_min"]) for s in services}


@events.init.add_listener
def _init(environment: Environment, **_: Any) -> None:
    # The event loop's clock was read when gevent was imported; importing this locustfile (and under
    # load, the rest of start-up) takes seconds, which --run-time's timer would otherwise lose.
    gevent.get_hub().loop.update_now()
    options = environment.parsed_options
    if options is not None and not isinstance(environment.runner, WorkerRunner):
        name = options.profile or DEFAULT_PROFILE
        if name not in PROFILES:
            sys.exit(f"load: unknown --profile {name!r}; choose one of {', '.join(sorted(PROFILES))}")
        options.profile = options.callsim_profile = name
    if not environment.stop_timeout:
        environment.stop_timeout = STOP_TIMEOUT_S
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message("callsim_answers", _on_answers)
    elif isinstance(runner, WorkerRunner):
        runner.register_message("callsim_flush", _on_flush, concurrent=True)


@events.test_start.add_listener
def _test_start(environment: Environment, **_: Any) -> None:
    profile = _profile(environment)
    options = _options(environment)
    slots = options.slots or profile.slots
    durations = _durations(environment.host or "", options.retell_api_key)
    layout = SlotSpace.handful if profile.slot_layout == "handful" else SlotSpace.spread
    _run.update(profile=profile, space=layout(profile.demand, durations, slots, date.today()),
                think_s=parse_seconds(options.think_s) if options.think_s else profile.think_s,
                between_calls_s=profile.between_calls_s)
    if isinstance(environment.runner, WorkerRunner):
        return
    faults, window = fault_rules(_fault_mix(environment)), _race_window_ms(environment)
    if options.calcom_url:
        calcom_setup.degrade(options.calcom_url, window, faults)
    elif faults or window:
        print("load: no --calcom-url, so the profile's Cal.com faults and race window are NOT in force")


@events.report_to_master.add_listener
def _report(data: dict[str, Any], **_: Any) -> None:
    data["callsim_answers"] = LOG.take_unsent()


@events.worker_report.add_listener
def _worker_report(data: dict[str, Any], **_: Any) -> None:
    LOG.merge(data.get("callsim_answers", []))


def _on_flush(environment: Environment, msg: Any, **_: Any) -> None:
    # Let the callers finish their turn, then hand over everything not reported yet.
    assert environment.runner is not None
    environment.runner.stop()
    environment.runner.send_message("callsim_answers", {"entries": LOG.take_unsent(), "final": True})


def _on_answers(environment: Environment, msg: Any, **_: Any) -> None:
    LOG.merge(msg.data["entries"])
    if msg.data.get("final"):
        _flushed.add(msg.node_id)


@events.test_stop.add_listener
def _test_stop(environment: Environment, **_: Any) -> None:
    """On the master: wait until every worker has handed over what its callers heard."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    workers = {client.id for client in runner.clients.all}
    runner.send_message("callsim_flush")
    deadline = time.monotonic() + FLUSH_TIMEOUT_S
    while not workers <= _flushed and time.monotonic() < deadline:
        gevent.sleep(0.2)
    if not workers <= _flushed:
        print(f"load: {len(workers - _flushed)} worker(s) did not hand over their answers in time")


class PhoneCaller(FastHttpUser):
    """One phone line: dials, runs the profile's call script turn by turn, hangs up, dials again."""

    # Like Retell: a function call that times out or fails at HTTP level is sent again, up to twice,
    # and the core answers a repeat from its idempotency store.
    network_timeout = RETELL_TIMEOUT_S
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.rng = random.Random()
        self.script: Script | None = None
        self.pending: Turn | None = None
        self.think_s, self.between_calls_s = _run["think_s"], _run["between_calls_s"]

    def wait_time(self) -> float:
        low, high = self.think_s if self.pending is not None else self.between_calls_s
        return self.rng.uniform(low, high)

    def _dial(self) -> None:
        self.caller = Caller(_faker.name(), f"+49151{self.rng.randrange(10**8):08d}")
        self.call_id = f"load_{uuid.uuid4().hex}"
        self.call = {"call_id": self.call_id, "call_type": "phone_call",
                     "from_number": self.caller.phone, "to_number": SALON_NUMBER, "direction": "inbound",
                     "call_status": "ongoing", "start_timestamp": int(time.time() * 1000)}
        self.turn_no = 0
        self.script = SCRIPTS[_run["profile"].script](_run["space"], self.rng, self.caller)
        self.pending = next(self.script)

    @task
    def turn(self) -> None:
        if self.pending is None or self.script is None:
            self._dial()
        assert self.pending is not None and self.script is not None
        answer = self._ask(self.pending)
        try:
            self.pending = self.script.send(answer)
        except StopIteration:
            self.pending = self.script = None

    def _ask(self, turn: Turn) -> Answer:
        profile: Profile = _run["profile"]
        self.turn_no += 1
        # ASCII JSON: the text sent is byte for byte what was signed.
        body = json.dumps({"name": turn.name, "args": turn.args, "call": self.call})
        waited_ms = 0.0
        for attempt in range(1 + RETELL_RETRIES):
            headers = _signed(body.encode(), _options(self.environment).retell_api_key)
            with self.client.post("/api/retell/function-call", data=body, headers=headers, name=turn.name,
                                  catch_response=True) as response:
                answer, broken = read_answer(response.status_code, response.content)
                waited_ms += float(response.request_meta["response_time"])
                reason = broken or failure_reason(answer, profile.expected_refusals)
                if not answer.success and claims_booked(answer.message):
                    reason = f"told \"gebucht\" on a refusal ({answer.error})"
                if reason:
                    response.failure(reason)
                else:
                    response.success()
            if not (broken and retryable(response.status_code)) or attempt == RETELL_RETRIES:
                break
        LOG.add(Heard.of(self.call_id, self.caller.phone, self.caller.name, self.turn_no, turn.name,
                         turn.args, answer, waited_ms, attempt + 1))
        return answer


@events.quitting.add_listener
def _quitting(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or environment.parsed_options is None:
        return
    try:
        environment.process_exit_code = _gate(environment)
    except Exception:  # a crash in the gates must fail the run, loudly
        traceback.print_exc()
        environment.process_exit_code = 2


def _gate(environment: Environment) -> int:
    options = _options(environment)
    profile = _profile(environment)
    total = environment.stats.total
    reasons = {str(e.error): e.occurrences for e in environment.stats.errors.values()}
    record: dict[str, Any] = {"profile": profile.name, "at": datetime.now(UTC).isoformat(timespec="seconds"),
                              "users": options.num_users, "run_time": options.run_time,
                              "requests": total.num_requests, "failures": total.num_failures,
                              "latency": gates.latency_table(LOG), "outcomes": gates.outcome_table(LOG),
                              "fault_mix": _fault_mix(environment), "race_window_ms": _race_window_ms(environment)}
    checked: list[gates.Gate] = [*gates.latency_gates(LOG, profile),
                                 gates.failure_gate(total.num_requests, total.num_failures, profile, reasons),
                                 gates.booking_gate(LOG, profile)]
    coverage = gates.coverage_gate(LOG, profile)
    if coverage is not None:
        checked.append(coverage)
    try:
        figures = lock_figures(environment.host or "")
        record["lock"] = figures.as_dict()
    except httpx.HTTPError as error:
        figures = None
        print(f"load: /metrics unreadable: {error}")
    longest = max((entry.max_response_time or 0 for (name, _), entry in environment.stats.entries.items()
                   if name in gates.CHANGING), default=0.0)
    checked += gates.lock_gates(LOG, profile, figures, float(longest))
    checked += _invariants(options, record)
    record["gates"] = gates.as_json(checked)
    record["exit_code"] = gates.verdict(checked)
    print(gates.render(checked, profile.name))
    if options.csv_prefix:
        path = Path(f"{options.csv_prefix}_gates.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"load: gate record written to {path}")
    return int(record["exit_code"])


def _invariants(options: Any, record: dict[str, Any]) -> list[gates.Gate]:
    if not options.calcom_url:
        return gates.invariant_gates(None, "no --calcom-url: orphans, double bookings and truthfulness unchecked")
    try:
        record["faults"] = calcom_setup.restore(options.calcom_url)
    except calcom_setup.CalcomSetupError as error:
        print(f"load: {error}")
    if options.csv_prefix and (held := calcom_setup.ledger(options.calcom_url)) is not None:
        # Cal.com's side of the story as the run left it, for whoever reads a failed gate.
        Path(f"{options.csv_prefix}_ledger.json").write_text(json.dumps(held, ensure_ascii=False), encoding="utf-8")
    # What every caller heard, kept next to the reports: the evidence behind a truthfulness verdict.
    answers = (Path(f"{options.csv_prefix}_answers.json") if options.csv_prefix
               else Path(tempfile.mkdtemp(prefix="callsim-load-")) / "answers.json")
    try:
        if options.database_url:
            record["reconcile"] = audit.reconcile(options.calcom_url, options.database_url, options.calcom_api_key)
        answers.parent.mkdir(parents=True, exist_ok=True)
        LOG.write_answers(str(answers))
        summary = audit.check(options.calcom_url, options.database_url or None, options.calcom_api_key, answers)
    except (audit.AuditError, OSError, ValueError) as error:
        return gates.invariant_gates({"error": str(error)})
    record["invariants"] = {k: summary.get(k) for k in ("ok", "bookings", "active_bookings", "appointments",
                                                        "counts", "database_checked")}
    return gates.invariant_gates(summary)
