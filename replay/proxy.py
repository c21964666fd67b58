"""A recording reverse proxy in front of a running webhook: Retell → proxy → webhook.

Every request is forwarded unchanged (the signature stays valid) and recorded with vcrpy, tagged
with its Retell call, so each call gets its own caller.yaml when the proxy stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from replay.calls import call_id_of
from replay.session import current_call

UNKNOWN_CALL = "unknown-call"
FORWARD_TIMEOUT_S = 60.0  # Retell's own function timeout decides; the proxy must not cut in first
_HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
               "proxy-connection", "content-encoding"}


def proxy_app(upstream: str, calls: set[str]) -> Starlette:
    client = httpx.AsyncClient(base_url=upstream.rstrip("/"), timeout=FORWARD_TIMEOUT_S)

    async def forward(request: Request) -> Response:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        call = call_id_of(body, {k.lower(): v for k, v in request.headers.items()}) or UNKNOWN_CALL
        calls.add(call)
        token = current_call.set(call)
        try:
            answer = await client.request(request.method, request.url.path, params=request.url.query or None,
                                          content=body, headers=headers)
        except httpx.TransportError as error:
            # Recorded as a failure already; Retell hears what a dead webhook sounds like.
            return JSONResponse({"error": f"upstream: {type(error).__name__}"}, status_code=502)
        finally:
            current_call.reset(token)
        return Response(answer.content, status_code=answer.status_code,
                        headers={k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)
