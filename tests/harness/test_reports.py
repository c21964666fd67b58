"""Report writers: JUnit XML, JSON, HTML (offline SVG chart, failed transcripts) and the console table."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from rich.console import Console

from harness.latency import summarise
from harness.reporting.console import print_run
from harness.reporting.html import write_html
from harness.reporting.json_report import write_json
from harness.reporting.junit import write_junit
from harness.results import (
    CallRecord,
    FunctionCallRecord,
    RunResult,
    ScenarioResult,
    Utterance,
    Violation,
)


def sample_run() -> RunResult:
    ok_call = CallRecord(scenario="ok", call_index=0, caller_index=0, call_id="call_ok", from_number="+49151",
                         caller_name="Jana Schulz", now="2030-03-04T10:00:00+01:00", outcome="booked",
                         utterances=[Utterance(role="user", text="Herrenschnitt"),
                                     Utterance(role="agent", text="Ihr Termin ist gebucht.")],
                         functions=[FunctionCallRecord(name="book_appointment", args={}, route="function-call",
                                                       client_ms=120.0, server_ms=80.0, success=True)])
    bad_call = ok_call.model_copy(update={"scenario": "bad", "call_id": "call_bad", "utterances": [
        Utterance(role="user", text="Ich möchte <b>färben</b>"), Utterance(role="agent", text="Meinen Sie?")],
        "functions": [FunctionCallRecord(name="check_availability", args={}, route="function-call",
                                         client_ms=2400.0, success=False, error="service_ambiguous")]})
    return RunResult(
        started_at="2030-03-01T12:00:00+01:00", duration_s=3.2, webhook_url="http://core", calcom_url="http://cal",
        scenarios=[
            ScenarioResult(name="ok", source="scenarios/a.yaml", outcome="booked", passed=True, calls=[ok_call],
                           invariants_checked=["orphans"], client_latency=summarise([120.0])),
            ScenarioResult(name="bad", source="scenarios/b.yaml", outcome="asked_back", passed=False,
                           failures=["call: expected outcome booked, got asked_back"], calls=[bad_call],
                           invariants_checked=["orphans"], client_latency=summarise([2400.0]),
                           violations=[Violation(invariant="orphans", key="o", detail="orphan x",
                                                 call_ids=["call_bad"])]),
        ],
        client_latency={"all": summarise([120.0, 2400.0])},
    )


def test_junit(tmp_path: Path) -> None:
    write_junit(sample_run(), tmp_path / "out.xml")
    suite = ET.parse(tmp_path / "out.xml").getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "2" and suite.get("failures") == "1"
    failed = suite.find("testcase[@name='bad']/failure")
    assert failed is not None and failed.get("message") == "call: expected outcome booked, got asked_back"
    assert suite.find("testcase[@name='ok']/failure") is None
    assert suite.find("testcase[@name='ok']").get("classname") == "scenarios.a"  # type: ignore[union-attr]


def test_json(tmp_path: Path) -> None:
    write_json(sample_run(), tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["passed"] is False and data["failures"] == ["bad: call: expected outcome booked, got asked_back"]
    assert data["scenarios"][0]["calls"][0]["functions"][0]["client_ms"] == 120.0
    assert data["scenarios"][1]["turns"] == 1


def test_html_is_offline_with_chart_and_failed_transcript(tmp_path: Path) -> None:
    write_html(sample_run(), tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "budget 1600 ms" in page
    assert "http://" not in page.replace("http://core", "").replace("http://cal", "").replace(
        "http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
    assert "1 of 2 scenarios failed" in page
    assert "Ich möchte &lt;b&gt;färben&lt;/b&gt;" in page  # transcript of the failed call, escaped
    assert "call_bad" in page and "call_ok" not in page  # only failed calls' transcripts


def test_console_table_names_failures() -> None:
    console = Console(record=True, width=160)
    print_run(sample_run(), console)
    text = console.export_text()
    assert "1 of 2 scenarios failed" in text
    assert "bad: call: expected outcome booked, got asked_back" in text
    assert "max 2400 ms" in text


def test_latency_rule() -> None:
    assert summarise([]).value_ms is None
    few = summarise([float(v) for v in range(1, 20)])
    assert (few.stat, few.value_ms) == ("max", 19.0)
    many = summarise([float(v) for v in range(1, 101)])
    assert (many.stat, many.value_ms, many.samples) == ("p95", 95.0, 100)
