"""Cal.com down for N seconds: the mock's listening port closed (connections refused), state kept.

uvicorn's `Server.servers` are asyncio (or uvloop) servers; closing one stops listening without
touching open connections, and a new server on the same address, built with the protocol factory
uvicorn's `Server.startup` uses, listens again. Only a mock started by `callsim mock-calcom`
(uvicorn.Server in this process) can do this.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any


class ListenerControl:
    def __init__(self) -> None:
        self.server: Any = None  # uvicorn.Server, set by the CLI before it serves
        self.down_until: float | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        return self.server is not None and bool(getattr(self.server, "servers", None))

    def go_down(self, seconds: float) -> bool:
        """Stop listening now and listen again after `seconds`; False when there is no listener."""
        if not self.available:
            return False
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        addresses = []
        for server in self.server.servers:
            addresses += [(sock.family, sock.getsockname()) for sock in server.sockets or ()]
            server.close()
        self.down_until = loop.time() + seconds
        self._task = loop.create_task(self._reopen(addresses, seconds))
        return True

    def _protocol(self, _loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
        # What uvicorn.Server.startup's create_protocol builds.
        uvicorn_server = self.server
        config = uvicorn_server.config
        protocol: asyncio.Protocol = config.http_protocol_class(
            config=config,
            server_state=uvicorn_server.server_state,
            app_state=uvicorn_server.lifespan.state,
            _loop=_loop,
        )
        return protocol

    async def _reopen(self, addresses: list[tuple[int, Any]], seconds: float) -> None:
        await asyncio.sleep(seconds)
        loop = asyncio.get_running_loop()
        reopened = []
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            reopened.append(
                await loop.create_server(self._protocol, sock=sock, backlog=self.server.config.backlog)
            )
        self.server.servers = reopened
        self.down_until = None
