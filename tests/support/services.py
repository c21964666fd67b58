"""Create and drop throwaway databases on the machine's real servers."""

from __future__ import annotations

import os

import pymysql
import redis

POSTGRES_ADMIN_URL = os.environ.get("CALLSIM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
MARIADB_ADMIN_URL = os.environ.get("CALLSIM_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("CALLSIM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _base(url: str) -> str:
    return url.rsplit("/", 1)[0]


def create_database(admin_url: str, name: str) -> str:
    """Returns the async SQLAlchemy URL of a new empty database."""
    if admin_url.startswith("postgresql"):
        import asyncio

        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(admin_url, timeout=3)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return f"postgresql+asyncpg://{_base(admin_url).split('://', 1)[1]}/{name}"
    connection = _mysql(admin_url)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    connection.close()
    return f"mysql+aiomysql://{_base(admin_url).split('://', 1)[1]}/{name}?charset=utf8mb4"


def drop_database(admin_url: str, name: str) -> None:
    try:
        if admin_url.startswith("postgresql"):
            import asyncio

            import asyncpg

            async def drop() -> None:
                conn = await asyncpg.connect(admin_url, timeout=3)
                try:
                    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                finally:
                    await conn.close()

            asyncio.run(drop())
            return
        connection = _mysql(admin_url)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()
    except Exception:  # noqa: BLE001 - best effort cleanup
        pass


def _mysql(url: str) -> pymysql.connections.Connection:
    rest = url.split("://", 1)[1]
    creds, hostpart = rest.split("@", 1)
    user, _, password = creds.partition(":")
    hostport = hostpart.split("/", 1)[0]
    host, _, port = hostport.partition(":")
    return pymysql.connect(host=host, port=int(port or 3306), user=user, password=password,
                           connect_timeout=3, autocommit=True)


def redis_reachable(url: str) -> str | None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        return None
    except redis.RedisError as exc:
        return str(exc)

