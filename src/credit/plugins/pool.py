"""The process's PostgreSQL connections, lent one statement (or one transaction) at a time.

Why not asyncpg's own `Pool`: it wraps every connection it lends in a proxy object, and gives it
back through `asyncio.shield`, a new task per release. On this service's requests, which each
borrow a connection for one statement, that hand-over cost about 40 µs of CPU, as much as
two thirds of the query's own client-side cost (docs/benchmarks.md, API). Here lending and
returning are plain list operations; the connections are asyncpg's own.

What it keeps from asyncpg's pool, by its own means:
- At most `size` connections, opened as they are needed (a process starts while the database
  is still coming up). A borrower that finds all of them lent waits at most `wait_timeout`
  seconds, then gets `TimeoutError` instead of queueing forever.
- A connection goes back into use only when the statement on it ended normally or the server
  refused it (a constraint, a timeout it enforced): those leave it idle and ready. After
  anything else (the borrower cancelled mid-statement, a network error, a transaction left
  open) it is closed, and its place is free for a new one. A connection the server dropped
  while idle (a restart) fails its next statement and is replaced the same way.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class ConnectionPool:
    def __init__(self, connect: Connect, size: int, wait_timeout: float) -> None:
        if size < 1:
            raise ValueError("a pool needs room for at least one connection")
        self.size = size
        self.wait_timeout = wait_timeout
        self._connect = connect
        self._idle: list[asyncpg.Connection] = []
        self._opened = 0  # lent, idle, or being opened
        # Borrowers waiting for a connection; a future's result is the connection handed over,
        # or None for "a place came free: open one".
        self._waiting: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closed = False

    @property
    def lent(self) -> int:
        return self._opened - len(self._idle)

    async def acquire(self) -> asyncpg.Connection:
        if self._closed:
            raise asyncpg.InterfaceError("the connection pool is closed")
        conn = self._take_idle()
        if conn is not None:
            return conn
        if self._opened < self.size:
            return await self._open()
        # The timer only when the pool is exhausted: arming one on every borrow was a
        # measurable part of a request's CPU.
        async with asyncio.timeout(self.wait_timeout):
            while True:
                conn = await self._wait()
                if conn is not None:
                    return conn
                if self._opened < self.size:
                    return await self._open()

    def release(self, conn: asyncpg.Connection, *, reusable: bool) -> None:
        """Give `conn` back: to the next borrower waiting, or to the idle ones; closed
        instead unless `reusable` and clean (no transaction left open)."""
        if self._closed or not reusable or conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
            self._opened -= 1
            self._hand_over(None)
            return
        self._hand_over(conn)

    async def close(self) -> None:
        """Close the idle connections now; lent ones are closed as they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        self._opened -= len(idle)
        for conn in idle:
            try:
                await conn.close(timeout=5)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                conn.terminate()
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(asyncpg.InterfaceError("the connection pool is closed"))

    def _take_idle(self) -> asyncpg.Connection | None:
        while self._idle:
            conn = self._idle.pop()  # the most recently used: its server process is warm
            if not conn.is_closed():
                return conn
            self._opened -= 1
        return None

    async def _open(self) -> asyncpg.Connection:
        self._opened += 1
        try:
            return await self._connect()
        except BaseException:
            self._opened -= 1
            self._hand_over(None)  # a waiter may try again (and fail fast, if the server is down)
            raise

    async def _wait(self) -> asyncpg.Connection | None:
        waiter: asyncio.Future[asyncpg.Connection | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting.append(waiter)
        try:
            return await waiter
        except BaseException:
            # Cancelled or timed out just as a connection (or a free place) was handed over:
            # pass it on rather than lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()
                if handed is None:
                    self._hand_over(None)
                else:
                    self.release(handed, reusable=True)
            raise

    def _hand_over(self, conn: asyncpg.Connection | None) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is not None:
            self._idle.append(conn)
