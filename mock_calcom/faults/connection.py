"""Dropping a connection without an HTTP response, which ASGI itself cannot express.

An ASGI app that returns without responding makes uvicorn send a 500, so the mock reaches the
transport of uvicorn's request cycle (`receive` is a bound method of it) to close or reset the socket.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from contextlib import suppress
from typing import Any

from starlette.types import Receive


class ConnectionDropped(ConnectionError):
    """Raised when no server transport is reachable (e.g. in-process ASGI clients)."""


def transport_of(receive: Receive) -> Any:
    cycle = getattr(receive, "__self__", None)
    return getattr(cycle, "transport", None)


async def wait_for_disconnect(receive: Receive, within: float | None) -> bool:
    """Wait until the client goes away (True) or `within` seconds pass (False); None waits for ever."""
    with suppress(TimeoutError):
        async with asyncio.timeout(within):
            while (await receive())["type"] != "http.disconnect":
                pass
            return True
    return False


async def drop_connection(receive: Receive, *, reset: bool) -> None:
    """Close without a response: `reset` sends a TCP RST, otherwise a FIN (an empty reply)."""
    transport = transport_of(receive)
    if transport is None:
        raise ConnectionDropped("mock_calcom dropped the connection")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Linger on with timeout 0 makes close() discard the connection with an RST.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
    # Let uvicorn register the loss, so it does not try to answer with a 500 afterwards.
    await wait_for_disconnect(receive, within=1.0)
