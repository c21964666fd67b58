"""JUnit XML for CI: one testcase per scenario, its expectation failures as the failure text."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from harness.results import RunResult


def write_junit(run: RunResult, path: Path) -> None:
    failures = sum(1 for s in run.scenarios if not s.passed)
    errors = len(run.errors) + (1 if run.suite_violations else 0)
    suite = ET.Element("testsuite", name="callsim", tests=str(len(run.scenarios) + errors),
                       failures=str(failures), errors=str(errors), time=f"{run.duration_s:.2f}",
                       timestamp=run.started_at)
    for result in run.scenarios:
        case = ET.SubElement(suite, "testcase", name=result.name, classname=f"scenarios.{Path(result.source).stem}",
                             time=f"{result.duration_s:.2f}")
        if not result.passed:
            failure = ET.SubElement(case, "failure", message=(result.failures or ["failed"])[0][:500])
            failure.text = "\n".join(result.failures)
        transcripts = "\n\n".join(f"[{c.call_id}]\n{c.transcript}" for c in result.calls[:3])
        ET.SubElement(case, "system-out").text = transcripts
    for error in run.errors:
        case = ET.SubElement(suite, "testcase", name="run", classname="callsim")
        ET.SubElement(case, "error", message=error[:500]).text = error
    if run.suite_violations:
        case = ET.SubElement(suite, "testcase", name="suite-invariants", classname="callsim")
        text = "\n".join(f"{v.invariant}: {v.detail}" for v in run.suite_violations)
        ET.SubElement(case, "failure", message=text.splitlines()[0][:500]).text = text
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
