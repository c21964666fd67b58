"""The request schema's limits are the database columns' limits: what the schema accepts, every
engine can store (issue 18: names of 201–500 characters, long numbers and call ids, NUL characters
used to end as "technisches Problem" on PostgreSQL)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import String

from booking_core.adapters import orm
from booking_core.schemas import (
    AGENT_ID_MAX,
    CALL_ID_MAX,
    EVENT_MAX,
    NAME_MAX,
    PHONE_MAX,
    CallEvent,
    FunctionArgs,
    RetellCall,
)


def _length(column: object) -> int:
    kind = column.type  # type: ignore[attr-defined]
    assert isinstance(kind, String) and kind.length, column
    return int(kind.length)


@pytest.mark.parametrize(("limit", "columns"), [
    (NAME_MAX, [orm.CustomerRow.name]),
    (PHONE_MAX, [orm.CustomerRow.phone, orm.AppointmentRow.customer_phone, orm.CallRow.from_number,
                 orm.CallRow.to_number]),
    (CALL_ID_MAX, [orm.CallRow.call_id, orm.AppointmentRow.call_id, orm.FunctionCallRow.call_id,
                   orm.CallEventRow.call_id]),
    (AGENT_ID_MAX, [orm.CallRow.agent_id]),
    (EVENT_MAX, [orm.CallEventRow.event, orm.CallRow.status]),
], ids=["name", "phone", "call_id", "agent_id", "event"])
def test_every_schema_limit_fits_the_columns_that_store_it(limit: int, columns: list[object]) -> None:
    assert all(limit <= _length(column) for column in columns), [(c, _length(c)) for c in columns]


@pytest.mark.parametrize(("field", "limit"), [("customer_name", NAME_MAX), ("customer_phone", PHONE_MAX)])
def test_args_up_to_the_limit_pass_and_one_more_is_refused(field: str, limit: int) -> None:
    assert getattr(FunctionArgs.model_validate({field: "a" * limit}), field) == "a" * limit
    with pytest.raises(ValidationError):
        FunctionArgs.model_validate({field: "a" * (limit + 1)})


@pytest.mark.parametrize(("field", "limit"), [("call_id", CALL_ID_MAX), ("from_number", PHONE_MAX),
                                              ("to_number", PHONE_MAX), ("agent_id", AGENT_ID_MAX)])
def test_call_fields_up_to_the_limit_pass_and_one_more_is_refused(field: str, limit: int) -> None:
    RetellCall.model_validate({field: "1" * limit})
    with pytest.raises(ValidationError):
        RetellCall.model_validate({field: "1" * (limit + 1)})


@pytest.mark.parametrize("bad", ["Anna\x00Schmidt", "call_\ud800", "\udfff"])
def test_nul_and_lone_surrogates_are_refused_everywhere(bad: str) -> None:
    with pytest.raises(ValidationError):
        FunctionArgs.model_validate({"service": bad})
    with pytest.raises(ValidationError):
        RetellCall.model_validate({"call_id": bad})
    with pytest.raises(ValidationError):  # stored whole: untyped fields count too
        CallEvent.model_validate({"event": "call_ended", "call": {"call_id": "c1", "transcript": {"x": [bad]}}})


def test_ordinary_german_text_is_kept() -> None:
    args = FunctionArgs.model_validate({"customer_name": "Zoë Weiß-Müller 🎉", "service": "Dauerwelle"})
    assert args.customer_name == "Zoë Weiß-Müller 🎉"
