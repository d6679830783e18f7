"""The process's PostgreSQL connections, lent one statement (or one transaction) at a time.

Why not asyncpg's own `Pool`: it wraps every connection it lends in a proxy object, and gives it
back through `asyncio.shield`, a new task per release. On this service's requests, which each
borrow a connection for one statement, that hand-over cost about 40 µs of CPU, as much as
two thirds of the query's own client-side cost (docs/benchmarks.md, API). Here lending and
returning are plain list operations; the connections are asyncpg's own.

What it keeps from asyncpg's pool, by its own means:
- At most `size` connections, opened as they are needed (a process starts while the database
  is still coming up). A borrower that finds all of them lent waits, first come first
  served, at most `wait_timeout` seconds, then gets `TimeoutError` instead of queueing
  forever.
- The borrower says whether a connection is fit to lend again (`release(reusable=...)`).
  One that is not, or that is closed or has a transaction open, is closed, and its place
  goes to the next borrower in line, who opens a new one. A connection the server dropped
  while idle (a restart) fails its next statement and is replaced the same way.

What it leaves out: asyncpg's pool also closed connections idle for five minutes and
reopened each after 50,000 queries. Here they live until they fail: PostgreSQL does not time
out idle sessions by default, and the service reaches it directly, not through a NAT that
could drop an idle connection unnoticed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg

Connect = Callable[[], Awaitable[asyncpg.Connection]]


def _pool_closed() -> asyncpg.InterfaceError:
    # asyncpg's own error for a closed pool, so callers treat it as an unreachable database.
    return asyncpg.InterfaceError("the connection pool is closed")


class ConnectionPool:
    def __init__(self, connect: Connect, size: int, wait_timeout: float) -> None:
        if size < 1:
            raise ValueError("a pool needs room for at least one connection")
        self.size = size
        self.wait_timeout = wait_timeout
        self._connect = connect
        self._idle: list[asyncpg.Connection] = []
        self._places = 0  # taken: by a connection lent or idle, or one being opened
        # Borrowers in line. A future's result is a connection handed over, or None: a place
        # kept for that borrower, to open a connection in.
        self._waiting: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closed = False

    @property
    def lent(self) -> int:
        """Connections lent out or being opened for a borrower."""
        return self._places - len(self._idle)

    async def acquire(self) -> asyncpg.Connection:
        if self._closed:
            raise _pool_closed()
        conn = self._take_idle()
        if conn is not None:
            return conn
        if self._places < self.size:
            self._places += 1
            return await self._open_in_place()
        # The timer only when the pool is exhausted: arming one on every borrow was a
        # measurable part of a request's CPU.
        async with asyncio.timeout(self.wait_timeout):
            conn = await self._wait()
        return conn if conn is not None else await self._open_in_place()

    def release(self, conn: asyncpg.Connection, *, reusable: bool) -> None:
        """Give `conn` back: to the next borrower in line, or to the idle ones. Closed instead
        unless `reusable` and clean; then its place goes to the next in line."""
        if self._closed or not reusable or conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
            self._free_place()
            return
        waiter = self._next_in_line()
        if waiter is None:
            self._idle.append(conn)
        else:
            waiter.set_result(conn)

    async def close(self) -> None:
        """Refuse new borrowers and close the idle connections; lent ones are closed as they
        come back."""
        self._closed = True
        while (waiter := self._next_in_line()) is not None:
            waiter.set_exception(_pool_closed())
        idle, self._idle = self._idle, []
        self._places -= len(idle)
        await asyncio.gather(*(_close(conn) for conn in idle))

    def _take_idle(self) -> asyncpg.Connection | None:
        while self._idle:
            conn = self._idle.pop()  # the most recently used: its server process is warm
            if not conn.is_closed():
                return conn
            self._places -= 1
        return None

    async def _open_in_place(self) -> asyncpg.Connection:
        """Open a connection in a place already counted for this borrower."""
        try:
            conn = await self._connect()
        except BaseException:
            self._free_place()  # the next in line may try (and fail fast, if the server is down)
            raise
        if self._closed:
            conn.terminate()
            self._places -= 1
            raise _pool_closed()
        return conn

    async def _wait(self) -> asyncpg.Connection | None:
        waiter: asyncio.Future[asyncpg.Connection | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting.append(waiter)
        try:
            return await waiter
        except BaseException:
            # Cancelled or timed out just as a connection or a place reached it: pass it on
            # rather than lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()
                if handed is None:
                    self._free_place()
                else:
                    self.release(handed, reusable=True)
            raise

    def _free_place(self) -> None:
        """A place came free: keep it for the next borrower in line, if there is one."""
        waiter = self._next_in_line()
        if waiter is None:
            self._places -= 1
        else:
            waiter.set_result(None)

    def _next_in_line(self) -> asyncio.Future[asyncpg.Connection | None] | None:
        """The first borrower still waiting; those that gave up (cancelled, timed out) are
        dropped from the line here."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                return waiter
        return None


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await conn.close(timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        conn.terminate()
