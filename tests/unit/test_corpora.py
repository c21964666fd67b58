"""The labelled corpora hold the targets of issue 5 (the same numbers `make bench-matching` prints).

The corpora are written to be hard; their labels follow what a salon receptionist would do, and
are never changed to make the code pass.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from booking_core.language.bench import (
    BERLIN,
    DATE_TARGET,
    SERVICE_TARGETS,
    judge_date,
    load,
    service_report,
)

SERVICES = load("service_utterances.yaml")
DATES = load("date_phrases.yaml")


def test_service_corpus_is_big_and_consistent() -> None:
    cases = SERVICES["utterances"]
    catalog = set(SERVICES["catalog"])
    assert len(cases) >= 300 and len(catalog) >= 20
    assert set(Counter(c["class"] for c in cases)) == set(SERVICE_TARGETS)
    for case in cases:
        assert case["expect"] is None or case["expect"] in catalog, case
        if case["class"] not in {"negation", "correction"}:  # "… ohne Föhnen" may leave none
            assert (case["expect"] is None) == (case["class"] in {"ambiguous", "no_match"}), case
        assert set(case.get("candidates", [])) <= catalog, case
        if case["class"] == "ambiguous":
            assert len(case["candidates"]) >= 2, case
    assert len({c["text"] for c in cases}) == len(cases), "duplicate utterances"


def test_date_corpus_is_big_and_has_several_nows() -> None:
    phrases = [p for b in DATES["blocks"] for p in b["phrases"]]
    weekdays = {datetime.fromisoformat(b["now"]).strftime("%a %H") for b in DATES["blocks"]}
    assert len(phrases) >= 150 and len(weekdays) >= 4
    assert any(b["now"].startswith("2026-12-3") or b["now"].startswith("2026-12-29")
               for b in DATES["blocks"])


@pytest.fixture(scope="module")
def service_counts() -> dict[str, tuple[int, int]]:
    counts, _ = service_report(SERVICES)
    return counts


@pytest.mark.parametrize("klass", sorted(SERVICE_TARGETS))
def test_service_accuracy_per_class(service_counts: dict[str, tuple[int, int]],
                                    klass: str) -> None:
    hit, total = service_counts[klass]
    assert 100.0 * hit / total >= SERVICE_TARGETS[klass], f"{klass}: {hit}/{total}"


def test_issue_16_classes_are_there_with_enough_items() -> None:
    dates = Counter(p.get("class", "basic") for b in DATES["blocks"] for p in b["phrases"])
    services = Counter(c["class"] for c in SERVICES["utterances"])
    assert all(dates[k] >= 8 for k in ("relative", "regional_clock", "holiday", "unclear",
                                      "correction")), dates
    assert services["correction"] >= 8 and services["negation"] >= 8, services


def test_nothing_is_silently_wrong() -> None:
    _, outcomes = service_report(SERVICES)
    wrong = [o for o in outcomes if o.silently_wrong]
    wrong += [o for block in DATES["blocks"] for o in (
        judge_date(case, datetime.fromisoformat(block["now"]).replace(tzinfo=BERLIN))
        for case in block["phrases"]) if o.silently_wrong]
    assert not wrong, [f"{o.text} -> {o.got}" for o in wrong]


def test_date_accuracy() -> None:
    outcomes = [judge_date(case, datetime.fromisoformat(block["now"]).replace(tzinfo=BERLIN))
                for block in DATES["blocks"] for case in block["phrases"]]
    misses = [f"{o.text} -> {o.got}" for o in outcomes if not o.ok]
    assert 100.0 * (len(outcomes) - len(misses)) / len(outcomes) >= DATE_TARGET, misses
