"""Structural comparison of a response with a Cal.com reference: same keys, same JSON types.

Usable by any Cal.com client test: `shape_mismatches(reference, response_json)` lists the differences.
"""

from __future__ import annotations

from typing import Any

# Objects whose keys are the caller's own (Record<string, unknown> in Cal.com's output classes), and
# arrays of unions whose items differ by type (booking fields, locations): only the container is checked.
FREE_FORM = frozenset({"metadata", "bookingFieldsResponses", "bookingFields", "locations"})
# Declared optional in Cal.com's output classes: present only in some states.
OPTIONAL = frozenset(
    {
        "phoneNumber",
        "language",
        "cancellationReason",
        "cancelledByEmail",
        "reschedulingReason",
        "rescheduledByEmail",
        "rescheduledFromUid",
        "rescheduledToUid",
        "meetingUrl",
        "rating",
        "icsUid",
        "guests",
        "end",
        # EventTypeOutput_2024_06_14: only for several lengths, a set window, disabled cancelling
        "lengthInMinutesOptions",
        "bookingWindow",
        "disableCancelling",
    }
)
# Fields the mock adds beyond a personal event type (the team event type's host list).
EXTENSIONS = frozenset({"hosts"})


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def shape_mismatches(reference: Any, actual: Any, path: str = "$") -> list[str]:
    if reference is None:  # nullable in Cal.com: any value or null
        return []
    if _kind(reference) != _kind(actual):
        return [f"{path}: Cal.com has {_kind(reference)}, got {_kind(actual)}"]
    if isinstance(reference, list):
        if not reference or path.rsplit(".", 1)[-1] in FREE_FORM:
            return []
        return [
            problem
            for i, item in enumerate(actual)
            for problem in shape_mismatches(reference[0], item, f"{path}[{i}]")
        ]
    if not isinstance(reference, dict) or path.rsplit(".", 1)[-1] in FREE_FORM:
        return []
    problems = [
        f"{path}.{key}: missing" for key in reference if key not in actual and key not in OPTIONAL
    ]
    problems += [
        f"{path}.{key}: not in Cal.com's shape"
        for key in actual
        if key not in reference and key not in OPTIONAL and key not in EXTENSIONS
    ]
    for key in reference.keys() & actual.keys():
        problems += shape_mismatches(reference[key], actual[key], f"{path}.{key}")
    return problems
