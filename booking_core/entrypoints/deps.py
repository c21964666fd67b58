"""Dependencies named once and reused by every route."""

from typing import Annotated

from fastapi import Depends, Request

from booking_core.bootstrap import Core


async def get_core(request: Request) -> Core:  # async: a plain def would cost a threadpool hop per request
    return request.app.state.core  # type: ignore[no-any-return]


CoreDep = Annotated[Core, Depends(get_core)]
