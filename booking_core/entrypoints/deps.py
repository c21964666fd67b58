"""Dependencies named once and reused by every route."""

from typing import Annotated

from fastapi import Depends, Request

from booking_core.bootstrap import RunningCore


async def get_core(request: Request) -> RunningCore:  # async: a plain def would cost a threadpool hop per request
    return request.app.state.core  # type: ignore[no-any-return]


CoreDep = Annotated[RunningCore, Depends(get_core)]
