"""Same seed, same fault sequence (and same booking uids); another seed, another sequence."""

from __future__ import annotations

import random

from mock_calcom.faults.rules import FaultBook, FaultRule
from tests.mock_calcom.calcom_mock_support import MONDAY, SLOTS, MockClient

RULES = [
    {"kind": "random_latency", "path": "/v2/slots", "min_ms": 0, "max_ms": 20},
    {"kind": "http_503", "path": "/v2/slots", "probability": 0.3},
    {"kind": "http_500", "path": "/v2/slots", "probability": 0.3},
]


def fault_sequence(mock: MockClient, seed: int) -> list[tuple[str | None, float, int | None]]:
    mock.reset(seed=seed)
    mock.set_faults(*RULES)
    for _ in range(30):
        mock.http.get(
            "/v2/slots", params={"eventTypeId": 2, "start": MONDAY, "end": MONDAY}, headers=SLOTS
        )
    return [(e["fault"], e["delay_ms"], e["status"]) for e in mock.journal()]


def test_same_seed_same_fault_sequence(mock: MockClient) -> None:
    first = fault_sequence(mock, seed=11)
    assert first == fault_sequence(mock, seed=11)
    assert first != fault_sequence(mock, seed=12)
    assert {status for _, _, status in first} == {200, 500, 503}


def test_same_seed_same_booking_uids(mock: MockClient) -> None:
    def uids() -> list[str]:
        mock.reset(seed=5)
        return [mock.book(2, f"{MONDAY}T{h:02d}:00:00Z").json()["data"]["uid"] for h in (8, 10, 12)]

    assert uids() == uids()


def test_fault_plan_depends_only_on_seed_and_requests() -> None:
    def plans(seed: int) -> list[list[str]]:
        book = FaultBook()
        book.replace(
            [
                FaultRule(kind="http_503", probability=0.5),
                FaultRule(kind="latency", probability=0.5),
            ]
        )
        rng = random.Random(seed)
        return [book.plan("GET", "/v2/slots", [], rng, 1000).applied for _ in range(50)]

    assert plans(3) == plans(3) != plans(4)
