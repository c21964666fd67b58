"""A failing schedule, printed as a scenario file (scenarios/README.md) an engineer can replay.

Each operation becomes one scenario, in order, with the Cal.com faults, race window and core fault
that were in force. All share one lane (week) and speak of the day relative to `now`, so the file
stays replayable after the date has passed; they are judged after a reconcile pass, as the property
test judges. Operations that ran at the same time share a `burst-<n>` tag. The exact function call
the machine made is in each description, since the simulated agent words it itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from tests.reliability.schedule import Book, Cancel, Operation, SalonSlot, Step

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _spoken(target: SalonSlot) -> str:
    # The scenario's clock is 08:00 on the slot's day: "{date:+0}" is that day, spoken.
    start = target.slot.start
    clock = f"{start.hour} Uhr" if not start.minute else f"{start.hour}:{start.minute:02d} Uhr"
    return f"{{date:+0}} um {clock}"


def _turn(op: Operation) -> str:
    if isinstance(op, Book):
        return f"Ich möchte einen {op.target.service} am {_spoken(op.target)}, mein Name ist {op.caller.name}."
    if isinstance(op, Cancel):
        return f"Ich möchte meinen Termin am {_spoken(op.target)} absagen."
    return f"Ich möchte meinen Termin am {_spoken(op.source)} auf den {_spoken(op.target)} verschieben."


def _scenario(index: int, op: Operation, step: Step, answer: str, faults: list[dict[str, Any]],
              race_window_ms: int, burst: int | None) -> dict[str, Any]:
    name, args = op.request()
    scenario: dict[str, Any] = {
        "name": f"repro-{index:03d}-{op.kind}",
        "description": f"{name}({args}) by {op.caller.name}"
                       + (" [answer lost, Retell retried]" if step.lost_answer else "")
                       + (f" [{step.note}]" if step.note else "") + f" → {answer}",
        "tags": ["reproduction"] + ([f"burst-{burst}"] if burst is not None else []),
        "now": {"weekday": WEEKDAYS[op.target.slot.start.weekday()], "time": "08:00"},
        "lane": "reproduction",
        "caller": {"name": op.caller.name, "phone": op.caller.phone},
        "turns": [_turn(op)],
        "reconcile": True,
    }
    if faults:
        scenario["faults"] = faults
    if race_window_ms:
        scenario["mock"] = {"race_window_ms": race_window_ms}
    if op.db_fault:
        scenario["core_faults"] = ["db_confirm"]
    return scenario


class _PlainDumper(yaml.SafeDumper):
    """No &id/*id anchors: every scenario spells out its own faults."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def reproduction_yaml(steps: Sequence[Step], anomalies: Sequence[str]) -> str:
    race_window_ms = 0
    scenarios: list[dict[str, Any]] = []
    made_by: list[Operation] = []  # the operation behind each scenario
    bursts = 0
    for step in steps:
        if step.what == "race_window":
            race_window_ms = step.race_window_ms
        else:
            faults = [choice.rule() for choice in step.faults]
            burst = None
            if step.concurrent:
                bursts += 1
                burst = bursts
            answers = step.answers + ["?"] * (len(step.ops) - len(step.answers))
            for op, answer in zip(step.ops, answers, strict=True):
                scenarios.append(_scenario(len(scenarios) + 1, op, step, answer, faults, race_window_ms, burst))
                made_by.append(op)
    # The harness judges truthfulness per scenario; a booking its caller cancels or moves in a later
    # scenario is judged there (across the whole schedule, harness.history judged it already).
    for index, op in enumerate(made_by):
        if any(later.caller == op.caller and later.kind != "book" for later in made_by[index + 1:]):
            scenarios[index]["invariants"] = ["orphans", "double_bookings", "ghosts"]
    header = ("# Minimal failing schedule found by tests/reliability (hypothesis). Scenarios tagged burst-<n>\n"
              "# ran at the same time there; `callsim run` plays them one after another.\n") + "".join(
        f"# anomaly: {line}\n" for line in anomalies)
    body = yaml.dump({"scenarios": scenarios}, Dumper=_PlainDumper, allow_unicode=True, sort_keys=False, width=120)
    return header + body
