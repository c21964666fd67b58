"""Judging answers and deciding gates, from hand-made evidence."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from harness.results import CallRecord
from load.answers import REFUSALS, AnswerLog, Heard, failure_reason, read_answer
from load.benchmarks_doc import replace_section
from load.calls import Answer
from load.core_metrics import lock_figures
from load.gates import (
    booking_gate,
    coverage_gate,
    invariant_gates,
    latency_gates,
    lock_gates,
    verdict,
)
from load.profiles import PROFILES, fault_rules, parse_fault_mix
from mock_calcom.faults.rules import FaultRule

SMOKE = PROFILES["smoke"]
STORM = PROFILES["race-storm"]


def _heard(name: str, ms: float, success: bool = True, error: str | None = None, message: str = "ok",
           call_id: str = "c1", turn: int = 1, data: dict[str, Any] | None = None) -> Heard:
    return Heard.of(call_id, "+4915100000001", "Erika Muster", turn, name, {}, Answer(success, error, message,
                                                                                     data or {}), ms)


def _log(*entries: Heard) -> AnswerLog:
    log = AnswerLog()
    for entry in entries:
        log.add(entry)
    return log


def test_transport_and_contract_breaks_are_failures() -> None:
    assert read_answer(503, b"busy")[1] == "HTTP 503"
    assert read_answer(0, None)[1] == "no response"
    assert "contract" in str(read_answer(200, b'{"ok": true}')[1])
    answer, broken = read_answer(200, b'{"success": false, "message": "vergeben", "error": "slot_taken", "data": {}}')
    assert broken is None and answer.error == "slot_taken"


def test_only_expected_refusals_pass() -> None:
    assert failure_reason(Answer(False, "slot_taken", "", {}), REFUSALS) is None
    assert failure_reason(Answer(False, "calcom_unavailable", "", {}), REFUSALS) == "refused: calcom_unavailable"
    assert failure_reason(Answer(False, "calcom_unavailable", "", {}),
                          PROFILES["cal-degraded"].expected_refusals) is None


def test_answers_travel_from_worker_to_master_and_become_call_records() -> None:
    worker, master = AnswerLog(), AnswerLog()
    worker.add(_heard("book_appointment", 120, message="Ihr Termin ist gebucht.", turn=2,
                      data={"appointment_id": "a1", "start": "2026-12-07T10:00:00+01:00", "price_eur": 28}))
    master.merge(worker.take_unsent())
    worker.add(_heard("check_availability", 40, turn=1))
    master.merge(worker.take_unsent())
    assert worker.take_unsent() == []
    (record,) = [CallRecord.model_validate(c) for c in master.calls()]
    assert [f.name for f in record.functions] == ["check_availability", "book_appointment"]
    assert record.functions[1].data == {"appointment_id": "a1", "start": "2026-12-07T10:00:00+01:00"}


def test_a_slow_function_fails_its_latency_gate_and_names_the_figures() -> None:
    log = _log(*[_heard("check_availability", 100) for _ in range(95)],
               *[_heard("check_availability", 2000) for _ in range(5)],
               *[_heard("book_appointment", 1700) for _ in range(10)])
    gates = {g.name: g for g in latency_gates(log, SMOKE)}
    assert gates["latency check_availability"].passed is True
    assert gates["latency book_appointment"].passed is False
    assert "P95 1700 ms" in gates["latency book_appointment"].detail


def test_lock_gates_catch_an_answer_slower_than_the_lock_ttl_and_slow_contention() -> None:
    log = _log(*[_heard("book_appointment", 1500, False, "lock_busy") for _ in range(20)])
    gates = {g.name: g for g in lock_gates(log, STORM, None, STORM.lock_ttl_s * 1000 + 1)}
    assert gates["lock released within TTL"].passed is False
    assert gates["contention answered fast"].passed is False
    assert "20 lock_busy" in gates["contention answered fast"].detail


def test_bookings_and_coverage_need_real_successes() -> None:
    log = _log(_heard("book_appointment", 50, message="Ihr Termin ist gebucht."),
               _heard("book_appointment", 50, False, "slot_taken", "Der Termin ist nicht gebucht."))
    assert booking_gate(log, SMOKE).passed is True
    assert "1 callers" in booking_gate(log, SMOKE).detail
    coverage = coverage_gate(log, SMOKE)
    assert coverage is not None and coverage.passed is False and "list_appointments" in coverage.detail


def test_transient_double_bookings_fail_the_run_by_name() -> None:
    summary = {"orphans": [], "ghosts": [], "truthfulness": [],
               "double_bookings": {"calcom": [], "db": [],
                                   "calcom_transient": [{"detail": "Cal.com double booking of host:102: u1 and u2"}]}}
    gates = invariant_gates(summary)
    failed = [g for g in gates if g.passed is False]
    assert [g.name for g in failed] == ["double bookings (Cal.com, transient)"]
    assert "host:102" in failed[0].detail
    assert verdict(gates) == 1
    assert verdict(invariant_gates({**summary, "double_bookings": {}})) == 0
    assert verdict(invariant_gates({"error": "ledger unreachable"})) == 1


def test_fault_mix_becomes_rules_the_mock_accepts() -> None:
    mix = parse_fault_mix(PROFILES["cal-degraded"].fault_mix)
    rules = [FaultRule.model_validate(rule) for rule in fault_rules(mix)]
    assert {r.kind for r in rules} == {"latency_just_under", "hang", "http_503"}
    assert parse_fault_mix("") == {}
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_fault_mix("slow=0.1,melt=0.2")
    with pytest.raises(ValueError, match="between 0 and 1"):
        parse_fault_mix("hang=2")


def _metrics(started: float, acquired: int, contended: int) -> str:
    return (f"process_start_time_seconds {started}\n"
            "# TYPE callsim_lock_total counter\n"
            f'callsim_lock_total{{result="acquired"}} {acquired}\n'
            f'callsim_lock_total{{result="contended"}} {contended}\n'
            "# TYPE callsim_lock_wait_seconds histogram\n"
            f'callsim_lock_wait_seconds_bucket{{le="0.01"}} {acquired}\n'
            f'callsim_lock_wait_seconds_bucket{{le="0.5"}} {acquired + contended}\n'
            f'callsim_lock_wait_seconds_bucket{{le="+Inf"}} {acquired + contended}\n'
            f"callsim_lock_wait_seconds_count {acquired + contended}\n"
            "callsim_lock_wait_seconds_sum 1.0\n")


def test_lock_figures_add_up_every_worker_once() -> None:
    answers = iter([_metrics(100.0, 6, 1)] * 6 + [_metrics(200.0, 10, 3)] + [_metrics(100.0, 6, 1)] * 100)
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            return httpx.Response(200, text=next(answers))

    transport = httpx.MockTransport(answer)
    figures = lock_figures("http://core", transport=transport)
    assert figures.workers == 2
    assert (figures.acquired, figures.contended) == (16, 4)
    assert figures.wait_p95_s() == 0.5


def test_a_recorded_section_replaces_only_itself(tmp_path) -> None:  # type: ignore[no-untyped-def]
    doc = tmp_path / "benchmarks.md"
    replace_section(doc, "load:race-storm:sqlite-inprocess-1w", "storm one")
    replace_section(doc, "load:cal-degraded:sqlite-inprocess-1w", "degraded one")
    replace_section(doc, "bench", "bench one")
    replace_section(doc, "load:race-storm:postgresql-redis-2w", "scaled storm")
    replace_section(doc, "load:race-storm:sqlite-inprocess-1w", "storm two")
    text = doc.read_text()
    assert "storm one" not in text and text.count("storm two") == 1
    assert text.index("bench one") < text.index("storm two") < text.index("scaled storm") < text.index("degraded")


def test_bench_ratio_counts_only_answers_without_error() -> None:
    from load.bench_report import _ratios

    def phase(name: str, answers: float, ok: float) -> dict:
        return {"name": name, "concurrency": 200, "throughput_rps": answers, "ok_rps": ok}

    # 76 answers a second is 10.5 % of the no-op, but half were "db_unavailable": 5.2 %, not met.
    ratios = _ratios([phase("noop", 725.0, 725.0), phase("book_appointment", 76.0, 38.0)])
    assert round(ratios[("book_appointment", 200)], 3) == round(38.0 / 725.0, 3)


def test_history_comparison_divides_out_the_machines_drift() -> None:
    from load.bench_report import _history_pairs

    def phase(name: str, ok: float, p95: float) -> dict:
        return {"name": name, "concurrency": 50, "ok_rps": ok, "p95_ms": p95}

    # The second stack ran on a slower machine: its no-op too lost a fifth. The booking's share of the
    # no-op is unchanged (×1.00), though its raw rate fell ×1.25; a real slowdown shows in both.
    empty = [phase("noop", 1000.0, 40.0), phase("book_appointment", 100.0, 900.0), phase("check_availability", 400.0, 150.0)]
    history = [phase("noop", 800.0, 50.0), phase("book_appointment", 80.0, 1000.0), phase("check_availability", 200.0, 300.0)]
    pairs = {name: (round(rate, 2), round(p95, 2), round(share, 2)) for name, rate, p95, share in _history_pairs(history, empty)}
    assert pairs == {"book_appointment ×50": (1.25, 1.11, 1.0), "check_availability ×50": (2.0, 2.0, 1.6)}
