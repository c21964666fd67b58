"""`make bench` end to end in miniature: both stacks, every section, the issue's targets printed.
The full-size run (minutes) is `make bench`; this proves the pieces fit together in seconds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_a_short_bench_prints_every_section(tmp_path: Path) -> None:
    out, raw = tmp_path / "benchmarks.md", tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "load.bench", "--seconds", "0.4", "--callers", "3", "--paced-callers", "3",
         "--paced-seconds", "0.6", "--voice-calls", "4", "--voice-seconds", "3", "--storm-seconds", "0",
         "--history-scale", "0.0005", "--mock-requests", "20", "--out", str(out), "--raw", str(raw)],
        capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    text = out.read_text(encoding="utf-8")
    for heading in ("### Throughput: C callers back to back", "### Voice pace: 4 calls at once",
                    "### With history: the same phases on a filled database", "### Targets (issue 17, embedded shape)"):
        assert heading in text
    assert "with history, throughput and P95 within ×1.2" in text and "voice pace, 4 calls" in text
    figures = json.loads(raw.read_text(encoding="utf-8"))
    history = figures["history"]
    # A twentieth of a percent of the PostgreSQL shape, a tenth of that on SQLite.
    assert history["fill"]["rows"]["appointments"] == 50 + 1
    assert history["fill"]["rows"]["function_calls"] == 250 and history["fill"]["stylists"] == 30
    for phase in figures["phases"] + history["phases"]:
        assert phase["requests"] > 0, phase
    assert sum(p["requests"] for p in figures["voice"]["phases"]) > 0
