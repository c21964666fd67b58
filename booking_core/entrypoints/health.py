"""Liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from booking_core.entrypoints.deps import CoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(core: CoreDep) -> JSONResponse:
    checks: dict[str, bool] = {}
    try:
        async with core.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = True
    except (SQLAlchemyError, OSError):
        checks["database"] = False
    checks["lock"] = await core.lock.ping()
    ready = all(checks.values())
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.post("/noop", include_in_schema=False)
async def noop() -> dict[str, bool]:
    """Same stack, no work: the baseline the benchmarks compare the functions against."""
    return {"success": True}
