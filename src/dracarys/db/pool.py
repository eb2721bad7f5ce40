"""Opens the asyncpg pool against `DATABASE_URL`, or against the embedded PostgreSQL
when none is configured, with JSON codecs so `jsonb` columns read and write as Python."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from dracarys.db.embedded import EmbeddedPostgres
from dracarys.settings import Settings


@dataclass(slots=True)
class Database:
    pool: asyncpg.Pool
    dsn: str
    embedded: EmbeddedPostgres | None = None

    async def close(self) -> None:
        await self.pool.close()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


class PooledConnection(asyncpg.Connection):
    """A pool connection released without asyncpg's reset query (`pg_advisory_unlock_all`,
    `CLOSE ALL`, `UNLISTEN *`, `RESET ALL`): a round trip on every release, a tenth of an
    authenticated read's server time (`benchmarks/auth_me.py`), undoing session state our
    pooled connections do not keep — settings are `SET LOCAL` inside transactions, cursors
    live in transactions, listeners use their own connection. The session-level advisory
    locks of `db.tx` do outlive transactions: taking one calls `reset_on_release`, and that
    connection is reset as asyncpg would. An open transaction is rolled back either way."""

    _reset_on_release = False

    def reset_on_release(self) -> None:
        self._reset_on_release = True

    def get_reset_query(self) -> str:
        if not self._reset_on_release:
            return ""
        self._reset_on_release = False
        query: str = super().get_reset_query()
        return query


class FairPool(asyncpg.Pool):
    """asyncpg's pool, handing connections out in the order they were asked for.

    asyncpg's queue of free connections wakes its longest waiter when one is released,
    but a task asking in between (a request that just arrived) takes the connection
    first, and the woken waiter queues again at the back. Under saturation (more
    requests in flight than connections) a few requests lose that race over and over:
    the tail latency of every endpoint (`benchmarks/auth_me.py`). A semaphore of
    ``max_size`` turns, first come first served (asyncio's hands a released turn to its
    first waiter), is taken before asyncpg's queue and given back after the connection
    is: whoever holds a turn finds a free connection at once."""

    def __init__(self, *args: Any, max_size: int, **kwargs: Any) -> None:
        super().__init__(*args, max_size=max_size, **kwargs)
        self._turns = asyncio.Semaphore(max_size)

    # asyncpg's own signatures (its `_acquire` is what `acquire()`, `fetch` and the rest
    # await), hence the `timeout` parameters.
    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109
        if timeout is None:
            await self._turns.acquire()
        else:
            await asyncio.wait_for(self._turns.acquire(), timeout)
        try:
            return await super()._acquire(timeout)  # type: ignore[misc]
        except BaseException:
            self._turns.release()
            raise

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if connection._con is None:  # released already: asyncpg ignores it, so do we
            return
        try:
            await super().release(connection, timeout=timeout)
        finally:
            self._turns.release()


async def init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda value: msgspec.json.encode(value).decode(),
            decoder=msgspec.json.decode,
            schema="pg_catalog",
        )


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    pool = FairPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        init=init_connection,
        command_timeout=60,
        connection_class=PooledConnection,
        record_class=asyncpg.Record,
    )
    await pool
    return pool


async def open_database(settings: Settings) -> Database:
    embedded: EmbeddedPostgres | None = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres.start(settings.data_path / "postgres")
        dsn = embedded.dsn
    else:
        dsn = settings.database_url
    pool = await create_pool(
        dsn, min_size=settings.db_pool_min_size, max_size=settings.db_pool_max_size
    )
    return Database(pool=pool, dsn=dsn, embedded=embedded)
