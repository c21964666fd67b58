"""Dependencies that can be taken away and given back mid-test: a throwaway Redis, a TCP gate in
front of Cal.com, and a throwaway PostgreSQL database that stops accepting connections."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator

import asyncpg
import redis

from harness.stack import free_port
from tests.reliability.live_stack import BackgroundLoop


class ThrowawayRedis:
    """Our own redis-server on a free port, no persistence: the machine's Redis is never touched."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not come up on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the way a crashed or OOM-killed Redis goes, locks and all."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=5)
        self._process = None

    def restart(self) -> None:
        self.kill()
        self.start()


@contextlib.contextmanager
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


class TcpGate:
    """A TCP forwarder we can shut: closed, its port refuses connections and cuts the open ones,
    which is what the core sees when Cal.com is unreachable."""

    def __init__(self, loop: BackgroundLoop, target_port: int) -> None:
        self._loop = loop
        self._target_port = target_port
        self.port = free_port()
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        self._server = self._loop.run(asyncio.start_server(self._pipe, "127.0.0.1", self.port))

    def close(self) -> None:
        async def shut() -> None:
            if self._server is not None:
                self._server.close()  # new connections are refused from here on
            for writer in list(self._writers):
                writer.transport.abort()  # and the open ones are cut

        self._loop.run(shut())
        self._server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.transport.abort()

        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))
        self._writers -= {writer, upstream_writer}


async def _admin(admin_url: str, statement: str) -> None:
    connection = await asyncpg.connect(admin_url, timeout=3)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_accepts_connections(admin_url: str, database: str, allowed: bool) -> None:
    """Closed: no new connections, and every open one of that database is terminated (the core's
    pool included). Only the throwaway test database is affected."""
    asyncio.run(_admin(admin_url, f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
    if not allowed:
        asyncio.run(_admin(admin_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                      f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"))


def postgres_database_timezone(admin_url: str, database: str, zone: str) -> None:
    """The TimeZone new sessions of that database get (a server initdb'd elsewhere than UTC)."""
    asyncio.run(_admin(admin_url, f"ALTER DATABASE \"{database}\" SET timezone TO '{zone}'"))
