"""The request journal: what the client sent, which faults hit it, and what it got back."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

JOURNALED_HEADERS = ("cal-api-version", "x-mock-fault", "content-type")


@dataclass
class JournalEntry:
    seq: int
    method: str
    path: str
    query: str
    body: Any
    headers: dict[str, str]
    at: str
    fault: str | None = None
    faults: list[str] = field(default_factory=list)
    delay_ms: float = 0
    status: int | None = None
    # "response", or how the exchange ended without one: "reset", "empty_reply", "client_gone".
    outcome: str = "response"
    latency_ms: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decode_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


class RequestJournal:
    def __init__(self, limit: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=limit)
        self._seq = 0

    def record(
        self, method: str, path: str, query: str, body: bytes, headers: dict[str, str], at: str
    ) -> JournalEntry:
        self._seq += 1
        entry = JournalEntry(self._seq, method, path, query, decode_body(body), headers, at)
        self._entries.append(entry)
        return entry

    def entries(self, method: str | None = None, path: str | None = None) -> list[JournalEntry]:
        return [
            e
            for e in self._entries
            if (method is None or e.method == method.upper()) and (path is None or e.path == path)
        ]

    def clear(self) -> None:
        self._entries.clear()
        self._seq = 0
