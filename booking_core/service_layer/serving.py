"""A serving core says so in the database, so an operator's command can tell whether SAGAs may be
running right now (`callsim reconcile --grace-s 0` while callers book would attack them)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid

from sqlalchemy.exc import SQLAlchemyError

from booking_core.adapters import leases
from booking_core.observability import log
from booking_core.service_layer.core import Core

HEARTBEAT_S = 10.0
PREFIX = "serving:"


async def announce_serving(core: Core) -> None:
    holder = f"{socket.gethostname()[:40]}:{os.getpid()}"
    name = f"{PREFIX}{core.settings.callsim_deployment_id}:{uuid.uuid4().hex}"
    try:
        while True:
            try:
                async with core.uow() as uow:
                    await leases.take(uow.session, name, holder, ttl_s=3 * HEARTBEAT_S)
            except SQLAlchemyError as exc:  # the database is down: nothing to announce to
                log.warning("serving heartbeat not written", error=type(exc).__name__)
            await asyncio.sleep(HEARTBEAT_S)
    finally:
        with contextlib.suppress(Exception):
            async with core.uow() as uow:
                await leases.release(uow.session, name, holder)


async def serving_workers(core: Core) -> list[str]:
    """host:pid of the cores of this deployment that announced themselves in the last 30 s."""
    async with core.uow() as uow:
        return await leases.alive(uow.session, f"{PREFIX}{core.settings.callsim_deployment_id}:")
