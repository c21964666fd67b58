"""GET /v2/event-types and /v2/event-types/{id} (cal-api-version 2024-06-14)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from mock_calcom.calcom_shapes import event_type_output, success
from mock_calcom.deps import EVENT_TYPES_VERSIONS, calcom_guard, calcom_user
from mock_calcom.errors import CalcomError

router = APIRouter()


@router.get("/v2/event-types")
async def list_event_types(
    request: Request, username: str | None = None, eventSlug: str | None = None
) -> JSONResponse:
    state = calcom_guard(request, EVENT_TYPES_VERSIONS)
    catalog = state.catalog
    # Without `username`, a user's key lists that user's own event types only
    # (apps/api/v2/src/modules/event-types/event-types_2024_06_14/controllers/event-types.controller.ts,
    # getEventTypes: getUserEventTypes(user.id)); the salon key stands for the team's owner, whose
    # services the mock lists in full (a real account reads them from /v2/teams/{id}/event-types).
    owner = calcom_user(request)
    if username is None and owner is not None:
        username = owner.username
    event_types = [
        e
        for e in catalog.event_types
        if (username is None or catalog.host(e.host).username == username)
        and (eventSlug is None or e.slug == eventSlug)
    ]
    return JSONResponse(success([event_type_output(e, catalog) for e in event_types]))


@router.get("/v2/teams/{team_id}/event-types")
async def list_team_event_types(team_id: int, request: Request) -> JSONResponse:
    """Team event types (apps/api/v2/src/modules/teams/event-types/controllers/
    teams-event-types.controller.ts): where an admin key finds the salon's services on Cal.com."""
    state = calcom_guard(request, EVENT_TYPES_VERSIONS)
    team = state.catalog.team
    if team is None or team.id != team_id:
        raise CalcomError(404, f"Team with id={team_id} not found")
    out = [
        {**event_type_output(e, state.catalog), "teamId": team.id, "schedulingType": "collective"}
        for e in state.catalog.event_types
    ]
    return JSONResponse(success(out))


@router.get("/v2/event-types/{event_type_id}")
async def get_event_type(event_type_id: int, request: Request) -> JSONResponse:
    state = calcom_guard(request, EVENT_TYPES_VERSIONS)
    event_type = state.catalog.event_type(event_type_id)
    if event_type is None:
        raise CalcomError(404, f"Event type with id={event_type_id} not found")
    return JSONResponse(success(event_type_output(event_type, state.catalog)))
