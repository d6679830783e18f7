"""The connection pool with real connections: which ones go back into use and which are closed
(tests/unit/test_pool.py has who gets what, with stand-ins)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from functools import partial
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text

from credit.plugins.pool import ConnectionPool
from credit.plugins.sql import AsyncpgDatabase, Conflict, DatabaseUnavailable

BACKEND = text("SELECT pg_backend_pid()")


def _dsn(postgres_url: str) -> str:
    return postgres_url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture
async def pool(postgres_url: str) -> AsyncIterator[ConnectionPool]:
    pool = ConnectionPool(partial(asyncpg.connect, _dsn(postgres_url)), size=2, wait_timeout=2)
    yield pool
    await pool.close()


async def _backend(conn: asyncpg.Connection) -> int:
    pid: int = await conn.fetchval("SELECT pg_backend_pid()")
    return pid


async def _backend_serving(database: AsyncpgDatabase) -> int:
    """The server process behind the connection the next statement gets."""
    row = await asyncio.wait_for(database.row(BACKEND), 2)
    assert row is not None
    pid: int = row[0]
    return pid


async def _cancelled_midway(statement: Coroutine[Any, Any, Any]) -> None:
    running = asyncio.create_task(statement)
    await asyncio.sleep(0.2)  # it is on the server by now
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running


async def test_a_connection_comes_back_into_use_only_when_clean(pool: ConnectionPool) -> None:
    conn = await pool.acquire()
    pid = await _backend(conn)
    pool.release(conn, reusable=True)
    again = await pool.acquire()
    assert await _backend(again) == pid  # reused as it was
    pool.release(again, reusable=False)  # e.g. its statement was cancelled mid-flight
    assert again.is_closed()
    fresh = await pool.acquire()
    assert await _backend(fresh) != pid
    transaction = fresh.transaction()
    await transaction.start()
    pool.release(fresh, reusable=True)  # a transaction left open is never lent again
    assert fresh.is_closed()
    assert pool.lent == 0


async def test_statements_refused_by_the_server_keep_the_connection(
    pool: ConnectionPool,
) -> None:
    database = AsyncpgDatabase(pool)
    pid = await _backend_serving(database)
    with pytest.raises(asyncpg.DivisionByZeroError):
        await database.row(text("SELECT 1 / 0"))
    with pytest.raises(Conflict):
        await database.row(text("INSERT INTO customers (id) VALUES (NULL)"))
    assert await _backend_serving(database) == pid
    assert pool.lent == 0


async def test_a_statement_cancelled_mid_flight_closes_its_connection(
    pool: ConnectionPool,
) -> None:
    database = AsyncpgDatabase(pool)
    pid = await _backend_serving(database)
    await _cancelled_midway(database.row(text("SELECT pg_sleep(5)")))
    assert pool.lent == 0
    # The next statement runs at once, on a new connection, not behind the cancelled one.
    assert await _backend_serving(database) != pid


async def test_a_connection_the_server_dropped_is_replaced(
    postgres_url: str, pool: ConnectionPool
) -> None:
    database = AsyncpgDatabase(pool)
    pid = await _backend_serving(database)
    admin = await asyncpg.connect(_dsn(postgres_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()
    # At most the first statement fails: whether asyncpg has read the server's goodbye by now
    # (then the closed connection is left out) or meets it on the statement (then that one
    # fails and the connection is closed) depends on timing.
    with contextlib.suppress(DatabaseUnavailable):
        await database.row(BACKEND)
    assert await _backend_serving(database) != pid
    assert pool.lent == 0


async def test_a_transaction_that_failed_is_rolled_back_and_its_connection_reused(
    pool: ConnectionPool,
) -> None:
    database = AsyncpgDatabase(pool)
    pid = await _backend_serving(database)
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with database.transaction() as tx:
            await tx.row(text("SELECT 1 / 0"))
    assert await _backend_serving(database) == pid


async def test_a_transaction_cut_off_mid_statement_closes_its_connection(
    pool: ConnectionPool,
) -> None:
    database = AsyncpgDatabase(pool)
    pid = await _backend_serving(database)

    async def slow_transaction() -> None:
        async with database.transaction() as tx:
            await tx.row(text("SELECT pg_sleep(5)"))

    await _cancelled_midway(slow_transaction())
    assert pool.lent == 0
    assert await _backend_serving(database) != pid
