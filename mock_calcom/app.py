"""Composition root: the FastAPI app with the Cal.com routes, the control API and the fault layer."""

from __future__ import annotations

from fastapi import FastAPI

from mock_calcom.errors import install_error_handlers
from mock_calcom.faults.injector import FaultInjector
from mock_calcom.routes import bookings, control, event_types, slots
from mock_calcom.settings import MockSettings
from mock_calcom.state import MockState


def create_app(settings: MockSettings | None = None) -> FastAPI:
    state = MockState(settings or MockSettings())
    app = FastAPI(
        title="mock_calcom",
        description="A Cal.com API v2 subset with fault injection, a booking ledger and a request journal.",
        docs_url="/_control/docs",
        openapi_url="/_control/openapi.json",
        redoc_url=None,
    )
    app.state.mock = state
    install_error_handlers(app)
    for module in (slots, bookings, event_types, control):
        app.include_router(module.router)
    app.add_middleware(FaultInjector, state=state)
    return app
