"""Comparing a replayed answer with the recorded one, and showing where they part.

What legitimately varies between two runs is normalised, field by field, never skipped: our own
fresh ids (UUIDs, `*_id`, `uid`) become aliases numbered by first appearance on each side, so
"the cancel names the appointment the booking made" still has to hold; `*_at` timestamps become
a placeholder. Everything else (success, error, the German sentence, slots, alternatives) must be
identical.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
ANSWER_FIELDS = ("success", "error", "message", "data")
_MISSING = "‹missing›"


def answer_view(status: int | None, body: bytes, failure: str | None) -> dict[str, Any]:
    """What is compared of one answer: the function fields when it is a function answer."""
    if failure is not None:
        return {"no answer": failure}
    try:
        parsed: Any = json.loads(body) if body else None
    except ValueError:
        parsed = body.decode("utf-8", "replace")
    if isinstance(parsed, dict) and all(key in parsed for key in ("success", "message")):
        return {"status": status, **{key: parsed.get(key) for key in ANSWER_FIELDS}}
    return {"status": status, "body": parsed}


class Normaliser:
    """One side's aliases: the n-th distinct id seen on that side becomes ‹id n›."""

    def __init__(self) -> None:
        self._aliases: dict[str, str] = {}

    def _alias(self, value: str) -> str:
        return self._aliases.setdefault(value, f"‹id {len(self._aliases) + 1}›")

    def __call__(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: self(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self(item, key) for item in value]
        if isinstance(value, str):
            if key.endswith("_at") or key == "timestamp":
                return "‹timestamp›"
            if key == "uid" or key == "id" or key.endswith("_id") or key.endswith("_uid"):
                return self._alias(value)
            return _UUID.sub(lambda m: self._alias(m[0].lower()), value)
        return value


def field_differences(recorded: Any, replayed: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(field path, recorded, replayed) for every leaf that differs."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        found: list[tuple[str, Any, Any]] = []
        for key in list(recorded) + [k for k in replayed if k not in recorded]:
            found += field_differences(recorded.get(key, _MISSING), replayed.get(key, _MISSING),
                                       f"{path}.{key}" if path else str(key))
        return found
    if isinstance(recorded, list) and isinstance(replayed, list) and len(recorded) == len(replayed):
        return [d for i, (a, b) in enumerate(zip(recorded, replayed, strict=True))
                for d in field_differences(a, b, f"{path}[{i}]")]
    return [] if recorded == replayed else [(path or "answer", recorded, replayed)]


@dataclass
class Step:
    index: int
    label: str
    recorded: dict[str, Any]
    replayed: dict[str, Any]
    differences: list[tuple[str, Any, Any]] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


def compare(labels: list[str], recorded: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> list[Step]:
    left, right = Normaliser(), Normaliser()
    steps = []
    for index, (label, before, after) in enumerate(zip(labels, recorded, replayed, strict=True)):
        before, after = left(before), right(after)
        steps.append(Step(index + 1, label, before, after, field_differences(before, after)))
    return steps


def _shown(value: Any) -> str:
    if value == _MISSING or isinstance(value, str):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _marked(words: list[str], other: list[str], style: str) -> Text:
    """The words of one side, those the other side lacks in `style`."""
    text = Text()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(a=words, b=other, autojunk=False).get_opcodes():
        chunk = " ".join(words[i1:i2])
        if chunk:
            text.append(chunk + " ", style=None if tag == "equal" else style)
    return text


def difference_table(step: Step) -> Table:
    table = Table("field", "recorded", "replayed", show_header=True, header_style="bold", expand=True,
                  title=f"✗ {step.index}. {escape(step.label)}", title_justify="left", title_style="bold red")
    for path, before, after in step.differences:
        a, b = _shown(before).split(" "), _shown(after).split(" ")
        table.add_row(path, _marked(a, b, "bold red"), _marked(b, a, "bold green"))
    return table


def render(console: Console, steps: list[Step]) -> None:
    for step in steps:
        if step.identical:
            console.print(Text(f"  ✓ {step.index}. {step.label}", style="green"))
        else:
            console.print(Group(difference_table(step)))
