"""The control API (/_control/...): faults, config, reset, ledger and request journal. No auth, no faults."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, model_validator

from mock_calcom.calcom_shapes import booking_output
from mock_calcom.deps import mock_state
from mock_calcom.errors import utc_timestamp
from mock_calcom.faults.profiles import load_profile, profile_names
from mock_calcom.faults.rules import FAULT_KINDS, FaultRule
from mock_calcom.settings import MockConfig
from mock_calcom.state import MockState

StateDep = Annotated[MockState, Depends(mock_state)]

router = APIRouter(prefix="/_control", tags=["control"])


class FaultsIn(BaseModel):
    """Either explicit rules or the name (or path) of a fault profile."""

    model_config = ConfigDict(extra="forbid")

    faults: list[FaultRule] | None = None
    profile: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FaultsIn:
        if (self.faults is None) == (self.profile is None):
            raise ValueError("give either 'faults' or 'profile'")
        return self


def _faults_view(state: StateDep) -> dict[str, Any]:
    return {
        "faults": state.faults.snapshot(),
        "kinds": list(FAULT_KINDS),
        "profiles": profile_names(),
    }


def _rules(state: StateDep, body: FaultsIn) -> list[FaultRule]:
    if body.profile is None:
        return body.faults or []
    try:
        profile = load_profile(body.profile)
    except FileNotFoundError as exc:
        raise HTTPException(404, str(exc)) from exc
    if profile.config:
        state.apply_config(profile.config)
    return profile.faults


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/faults")
async def get_faults(state: StateDep) -> dict[str, Any]:
    return _faults_view(state)


@router.put("/faults")
async def put_faults(body: FaultsIn, state: StateDep) -> dict[str, Any]:
    state.faults.replace(_rules(state, body))
    return _faults_view(state)


@router.post("/faults")
async def add_faults(body: FaultsIn, state: StateDep) -> dict[str, Any]:
    state.faults.add(_rules(state, body))
    return _faults_view(state)


@router.delete("/faults")
async def delete_faults(state: StateDep) -> dict[str, Any]:
    state.faults.clear()
    return _faults_view(state)


@router.post("/reset")
async def reset(state: StateDep, keep_faults: bool = False) -> dict[str, Any]:
    state.reset(keep_faults=keep_faults)
    return {"status": "reset", "config": state.config.model_dump(mode="json")}


@router.post("/outage")
async def outage(state: StateDep, seconds: float = 5.0) -> dict[str, Any]:
    """Close the listening port for `seconds` (connections refused), keeping every booking."""
    if not 0 < seconds <= state.config.max_hang_s:
        raise HTTPException(422, f"seconds must be in (0, {state.config.max_hang_s}]")
    if not state.listeners.go_down(seconds):
        raise HTTPException(409, "no listener to close: the mock is not served by `callsim mock-calcom`")
    return {"down_s": seconds}


@router.get("/config")
async def get_config(state: StateDep) -> dict[str, Any]:
    return state.config.model_dump(mode="json")


@router.put("/config")
async def put_config(changes: dict[str, Any], state: StateDep) -> dict[str, Any]:
    unknown = set(changes) - set(MockConfig.model_fields)
    if unknown:
        raise HTTPException(422, f"unknown config fields: {sorted(unknown)}")
    try:
        state.apply_config(changes)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return state.config.model_dump(mode="json")


@router.get("/ledger")
async def ledger(state: StateDep) -> dict[str, Any]:
    return {
        "bookings": [
            {
                **booking_output(b, state.catalog),
                "history": [
                    {"status": status, "at": utc_timestamp(at)} for status, at in b.history
                ],
            }
            for b in state.ledger
        ]
    }


@router.get("/requests")
async def requests(
    state: StateDep, method: str | None = None, path: str | None = None
) -> dict[str, Any]:
    return {"requests": [e.as_dict() for e in state.journal.entries(method, path)]}
