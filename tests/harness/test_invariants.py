"""The checker on hand-made evidence: a fake ledger and SQLite rows written with plain SQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from harness.calcom_listing import fetch_bookings, parse_booking
from harness.cli import app
from harness.invariants import claims_booked, find_violations, summary, take_snapshot
from harness.results import CallRecord, FunctionCallRecord
from tests.harness.fake_salon import create_schema, insert_row, ledger_booking, naive_utc

T0 = datetime(2030, 3, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "core.db"
    create_schema(path)
    return path


def row(db: Path, id: str, start: datetime, minutes: int = 30, status: str = "confirmed", uid: str | None = None,
        call_id: str | None = None, resource: str = "host:102") -> None:
    insert_row(db, id=id, resource=resource, start_at=naive_utc(start), end_at=naive_utc(start + timedelta(minutes=minutes)),
               status=status, calcom_uid=uid, call_id=call_id)


def ledger_transport(bookings: list[dict]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, json={"bookings": bookings})
                               if request.url.path == "/_control/ledger" else httpx.Response(404))


async def snapshot(db: Path, bookings: list[dict]):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(transport=ledger_transport(bookings)) as client:
        return await take_snapshot("http://calcom.test", "cal_x", f"sqlite+aiosqlite:///{db}", client)


async def test_clean_state_has_no_violation(db: Path) -> None:
    row(db, "a1", T0, uid="u1", call_id="c1")
    snap = await snapshot(db, [ledger_booking("u1", 102, T0, 30, appointment_id="a1", call_id="c1"),
                               ledger_booking("seed", 102, T0 + timedelta(hours=1), 30)])
    assert find_violations(snap) == []
    assert summary(snap, [])["ok"] is True and summary(snap, [])["source"] == "mock-ledger"


async def test_orphan_ghost_and_both_double_booking_sides(db: Path) -> None:
    row(db, "pending", T0, status="pending", uid="u1", call_id="c1")                 # orphan: Cal.com active
    row(db, "ghost", T0 + timedelta(hours=2), uid="u2", call_id="c2")                 # ghost: Cal.com cancelled
    row(db, "d1", T0 + timedelta(hours=4), 60, uid="u3", call_id="c3")               # DB double with d2
    row(db, "d2", T0 + timedelta(hours=4, minutes=30), 30, uid="u4", call_id="c4")
    row(db, "other-host", T0 + timedelta(hours=4), uid="u5", resource="host:101")    # no clash: other host
    bookings = [
        ledger_booking("u1", 102, T0, 30, appointment_id="pending", call_id="c1"),
        ledger_booking("u2", 102, T0 + timedelta(hours=2), 30, status="cancelled", appointment_id="ghost"),
        ledger_booking("u3", 102, T0 + timedelta(hours=4), 60, appointment_id="d1", call_id="c3"),
        ledger_booking("u4", 102, T0 + timedelta(hours=4, minutes=30), 30, appointment_id="d2", call_id="c4"),
        ledger_booking("u5", 101, T0 + timedelta(hours=4), 30, appointment_id="other-host"),
    ]
    found = find_violations(await snapshot(db, bookings))
    kinds = sorted((v.invariant, v.data.get("side")) for v in found)
    assert kinds == [("double_bookings", "calcom"), ("double_bookings", "db"), ("ghosts", None), ("orphans", None)]
    orphan = next(v for v in found if v.invariant == "orphans")
    assert orphan.call_ids == ["c1"] and "row status pending" in orphan.detail


async def test_transient_double_booking_from_history(db: Path) -> None:
    """Two bookings of one host and slot both accepted at one moment; one was cancelled later."""
    a = ledger_booking("ua", 102, T0, 30, history=[("accepted", T0 - timedelta(hours=5))])
    b = ledger_booking("ub", 102, T0, 30, status="cancelled",
                       history=[("accepted", T0 - timedelta(hours=5, seconds=-1)), ("cancelled", T0 - timedelta(hours=4))])
    sequential = ledger_booking("uc", 102, T0 + timedelta(hours=1), 30, status="cancelled",
                                history=[("accepted", T0 - timedelta(hours=9)), ("cancelled", T0 - timedelta(hours=8))])
    later = ledger_booking("ud", 102, T0 + timedelta(hours=1), 30, history=[("accepted", T0 - timedelta(hours=7))])
    found = find_violations(await snapshot(db, [a, b, sequential, later]))
    assert [(v.data["uids"], v.data["transient"]) for v in found] == [(["ua", "ub"], True)]
    assert summary(await snapshot(db, [a, b]), found)["double_bookings"]["calcom_transient"]


def _call(call_id: str, *functions: FunctionCallRecord) -> CallRecord:
    return CallRecord(scenario="s", call_index=0, caller_index=0, call_id=call_id, from_number="+49", caller_name="x",
                      now="", functions=list(functions))


def _answer(name: str, success: bool, message: str, **data: object) -> FunctionCallRecord:
    return FunctionCallRecord(name=name, args={}, route="function-call", success=success, message=message,
                              data=dict(data), error=None if success else "booking_unconfirmed")


async def test_truthfulness_both_directions(db: Path) -> None:
    row(db, "told-ok", T0, uid="u1", call_id="c1")
    row(db, "told-missing", T0 + timedelta(hours=1), status="failed", call_id="c2")
    row(db, "silent", T0 + timedelta(hours=2), uid="u3", call_id="c3")
    bookings = [ledger_booking("u1", 102, T0, 30, appointment_id="told-ok", call_id="c1"),
                ledger_booking("u3", 102, T0 + timedelta(hours=2), 30, appointment_id="silent", call_id="c3")]
    calls = [
        _call("c1", _answer("book_appointment", True, "Ihr Termin ist gebucht.", appointment_id="told-ok")),
        _call("c2", _answer("book_appointment", True, "Ihr Termin ist gebucht.", appointment_id="told-missing")),
        _call("c3", _answer("book_appointment", False, "Der Termin ist nicht gebucht.")),
    ]
    found = [v for v in find_violations(await snapshot(db, bookings), calls) if v.invariant == "truthfulness"]
    assert sorted(v.key.split(":")[1] for v in found) == ["silent", "silent-row", "told"]
    assert {c for v in found for c in v.call_ids} == {"c2", "c3"}


async def test_cancelled_and_rescheduled_answers_move_the_truth(db: Path) -> None:
    row(db, "old", T0, status="cancelled", uid="u1", call_id="c1")
    calls = [_call("c1", _answer("book_appointment", True, "Ihr Termin ist gebucht.", appointment_id="old",
                                 start="T0")),
             _call("c2", _answer("cancel_appointment", True, "Ihr Termin ist storniert.", appointment_id="old"))]
    bookings = [ledger_booking("u1", 102, T0, 30, status="cancelled", appointment_id="old", call_id="c1")]
    assert find_violations(await snapshot(db, bookings), calls) == []


def test_claims_booked_ignores_negation() -> None:
    assert claims_booked("Ihr Termin am Montag ist gebucht.")
    assert not claims_booked("Der Termin ist nicht gebucht. Bitte versuchen Sie es später.")
    assert not claims_booked(None)


async def test_real_calcom_listing_is_paged() -> None:
    pages = [[ledger_booking(f"p{i}", 101, T0 + timedelta(hours=i), 30) for i in range(100)],
             [ledger_booking("last", 101, T0 + timedelta(days=2), 30)]]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/_control/ledger":
            return httpx.Response(404)
        seen.append(str(request.url.params))
        assert request.headers["cal-api-version"] == "2024-08-13"
        page = int(request.url.params["skip"]) // 100
        return httpx.Response(200, json={"status": "success", "data": pages[page],
                                         "pagination": {"hasNextPage": page == 0}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        bookings, source = await fetch_bookings(client, "http://cal.test", "cal_x")
    assert source == "calcom-api" and len(bookings) == 101 and len(seen) == 2


def test_parse_booking_resource_is_the_host() -> None:
    booking = parse_booking(ledger_booking("u", 103, T0, 45, appointment_id="a", call_id="c"))
    assert (booking.host, booking.appointment_id, booking.call_id) == ("host:103", "a", "c")
    assert booking.end - booking.start == timedelta(minutes=45)


def test_check_command_prints_json_and_fails_on_violation(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    row(db, "pending", T0, status="pending", uid="u1", call_id="c1")
    bookings = [ledger_booking("u1", 102, T0, 30, appointment_id="pending", call_id="c1")]
    real_client = httpx.AsyncClient
    monkeypatch.setattr(httpx, "AsyncClient", lambda **kw: real_client(transport=ledger_transport(bookings), **kw))
    result = CliRunner().invoke(app, ["check", "--calcom-url", "http://calcom.test", "--database-url",
                                      f"sqlite:///{db}"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["ok"] is False and len(report["orphans"]) == 1 and report["database_checked"] is True


def test_check_command_judges_truthfulness_from_a_run_report(db: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.reporting.json_report import write_json
    from harness.results import RunResult, ScenarioResult

    told = _call("c1", _answer("book_appointment", True, "Ihr Termin ist gebucht.", appointment_id="gone"))
    write_json(RunResult(started_at="x", scenarios=[ScenarioResult(name="s", source="s.yaml", calls=[told])]),
               tmp_path / "run.json")
    real_client = httpx.AsyncClient
    monkeypatch.setattr(httpx, "AsyncClient", lambda **kw: real_client(transport=ledger_transport([]), **kw))
    result = CliRunner().invoke(app, ["check", "--calcom-url", "http://calcom.test", "--database-url",
                                      f"sqlite:///{db}", "--answers", str(tmp_path / "run.json")])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert [t["call_ids"] for t in report["truthfulness"]] == [["c1"]] and report["orphans"] == []
