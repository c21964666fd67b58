"""The FastAPI application: `create_app()` is what uvicorn runs (factory, one per worker)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from booking_core.bootstrap import RunningCore, bootstrap
from booking_core.config import Settings, get_settings
from booking_core.entrypoints import health, retell
from booking_core.entrypoints.timing import ServerTimingMiddleware
from booking_core.observability import configure_logging, log
from booking_core.service_layer.reconcile import reconcile
from booking_core.service_layer.retention import prune_forever
from booking_core.service_layer.services_admin import sync_from_calcom
from booking_core.service_layer.serving import announce_serving


async def _reconcile_forever(core: RunningCore) -> None:
    while True:
        await asyncio.sleep(core.settings.reconcile_interval_s)
        try:
            report = await reconcile(core, wait_s=0)  # another worker's pass: skip this turn
            if report.actions:
                log.info("reconcile pass", **report.as_dict())
        except Exception:
            log.exception("reconcile pass failed")


def create_app(settings: Settings | None = None, core: RunningCore | None = None, *,
               calcom_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The webhook app; `core` is used instead of bootstrapping one, `calcom_transport` carries the
    Cal.com client's traffic (replay: the transport vcrpy records and plays back)."""
    settings = settings or (core.settings if core else get_settings())
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        active = core or bootstrap(settings, calcom_transport=calcom_transport)
        app.state.core = active
        if settings.services_sync_on_start:
            try:
                created, updated = await sync_from_calcom(active)
                log.info("services synced from Cal.com", created=created, updated=updated)
            except Exception as exc:  # serve anyway; the operator can sync later
                log.error("services sync failed", error=str(exc))
        # Startup's objects (modules, the catalog, compiled statements) live as long as the process:
        # moved out of the collector's sight, a full collection no longer walks them mid-request.
        gc.collect()
        gc.freeze()
        periodic = [asyncio.create_task(task(active)) for task, interval in (
            (_reconcile_forever, settings.reconcile_interval_s), (prune_forever, settings.retention_interval_s))
            if interval > 0]
        periodic.append(asyncio.create_task(announce_serving(active)))
        try:
            yield
        finally:
            for task in periodic:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if core is None:
                await active.aclose()

    app = FastAPI(title="callsim booking core", version="0.1.0", lifespan=lifespan)
    app.include_router(retell.router)
    app.include_router(health.router)
    app.add_middleware(ServerTimingMiddleware, max_body_bytes=settings.max_body_bytes,
                       body_read_timeout_s=settings.body_read_timeout_s)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"success": False, "error": "invalid_args",
                             "message": "Das habe ich leider nicht verstanden.", "data": {}}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path)
        return JSONResponse({"success": False, "error": "internal",
                             "message": "Wir haben gerade ein technisches Problem.", "data": {}}, status_code=200)

    return app
