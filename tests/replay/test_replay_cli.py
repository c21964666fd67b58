"""`callsim replay` as an engineer runs it: the core as a subprocess under the cassette, offline.

The second test changes the core's German "slot taken" sentence without touching the source: it
copies booking_core into a temporary folder, redefines `phrases.slot_taken` there, and runs the
replay with PYTHONPATH pointing at the copy (and the working folder elsewhere, so the copy wins).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from callsim.cli import app as callsim_app

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "tests" / "cassettes"
HAPPY = CASSETTES / "book-herrenschnitt"
SLOT_TAKEN = CASSETTES / "slot-taken-dann-um-vier"
CHANGED_SENTENCE = "Der Wunschtermin ist weg."
# Appended to the copied phrases.py: later definitions win, whatever the original wording is.
REDEFINITION = f'''

def slot_taken(alternatives):
    return f"{CHANGED_SENTENCE} {{alternatives_sentence(alternatives)}}"
'''


def replay(*args: str, cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    mounted = any(command.name == "replay" for command in callsim_app.registered_commands)
    command = ([sys.executable, "-m", "callsim", "replay"] if mounted else
               [sys.executable, "-c", "import typer; from replay.play import replay_command; "
                                      "typer.run(replay_command)"])
    env = {**os.environ, "COLUMNS": "240", "NO_COLOR": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=150,
                          check=False)


def test_a_recorded_call_replays_identically_offline(tmp_path: Path) -> None:
    done = replay(str(HAPPY), "--strict", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "IDENTICAL" in done.stdout
    assert re.search(r"✓ \d+\. book_appointment", done.stdout)
    assert "0 request(s) not in the cassette" in done.stdout


def test_a_changed_slot_taken_sentence_is_a_readable_diff_and_exit_1(tmp_path: Path) -> None:
    code = tmp_path / "code"
    shutil.copytree(ROOT / "booking_core", code / "booking_core", ignore=shutil.ignore_patterns("__pycache__"))
    phrases = code / "booking_core" / "language" / "phrases.py"
    phrases.write_text(phrases.read_text(encoding="utf-8") + REDEFINITION, encoding="utf-8")

    done = replay(str(SLOT_TAKEN), cwd=tmp_path, pythonpath=code)

    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "DIVERGED" in out
    # The diff names the field and shows both sentences: the recorded one and the one said now.
    diverged = re.findall(r"✗ \d+\. (\w+)", out)
    assert diverged and set(diverged) <= {"check_availability", "book_appointment"}, out
    assert re.search(r"│ message\s+│", out), out
    assert "schon vergeben" in out and CHANGED_SENTENCE in out, out
    # Only the sentence moved: the booking that follows still replays as recorded.
    assert re.search(r"✓ \d+\. book_appointment", out), out
