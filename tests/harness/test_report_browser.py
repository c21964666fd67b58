"""The HTML report as a person sees it: opened in headless Chromium (Debian's `chromium` package).

A probe script added to a copy of the report reads what the browser rendered: the summary line,
one row per scenario, the latency charts laid out with bars, and a failed scenario's transcript
hidden until its summary is clicked.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.reporting.html import write_html
from tests.harness.test_reports import sample_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=3000"]
PROBE = """<script>
const seen = {};
seen.verdict = document.querySelector('.verdict').innerText.trim();
seen.rows = [...document.querySelectorAll('table.scenarios tr.scenario')].map(r => [r.dataset.scenario, r.className]);
seen.charts = [...document.querySelectorAll('svg')].map(s => {
  const box = s.getBoundingClientRect();
  const bars = [...s.querySelectorAll('rect')].filter(r => r.getBoundingClientRect().width > 0).length;
  return [box.width, box.height, bars];
});
const details = document.querySelector('details.transcript');
const transcript = details.querySelector('pre');
seen.before = [details.open, transcript.checkVisibility(), details.getBoundingClientRect().height];
details.querySelector('summary').click();
seen.after = [details.open, transcript.checkVisibility(), details.getBoundingClientRect().height,
              transcript.innerText];
const out = document.createElement('pre');
out.id = 'probe';
out.textContent = JSON.stringify(seen);
document.body.appendChild(out);
</script>"""


def _seen_in_chromium(report: Path, tmp_path: Path) -> dict:
    assert CHROMIUM is not None
    probe = tmp_path / "probed.html"
    probe.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                           probe.as_uri()], capture_output=True, text=True, timeout=90, check=False)
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, f"chromium exited {done.returncode}: {done.stderr[-2000:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("CI") != "true",
                    reason="chromium is not installed (apt-get install -y chromium); under CI=true this test runs")
def test_report_in_a_real_browser(tmp_path: Path) -> None:
    run = sample_run()
    report = tmp_path / "report.html"
    write_html(run, report)
    seen = _seen_in_chromium(report, tmp_path)
    assert seen["verdict"].startswith("1 of 2 scenarios failed")
    assert seen["rows"] == [["ok", "scenario pass"], ["bad", "scenario fail"]]
    assert len(seen["charts"]) == 2
    for width, height, bars in seen["charts"]:
        assert width > 100 and height > 20 and bars >= 1  # laid out, with visible bars
    closed, hidden, folded_height = seen["before"]
    assert not closed and not hidden  # the transcript starts folded away
    opened, shown, height, text = seen["after"]
    assert opened and shown and height > folded_height  # a click unfolds it
    assert "Ich möchte <b>färben</b>" in text  # as text: the caller's words are escaped
