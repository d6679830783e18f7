"""The connection pool's bookkeeping, with stand-in connections: who gets what, and when."""

from __future__ import annotations

import asyncio
import random
from functools import partial

import asyncpg
import pytest

from credit.plugins.pool import ConnectionPool


class StandIn:
    """What the pool uses of an asyncpg connection."""

    def __init__(self, number: int) -> None:
        self.number = number
        self.closed = False
        self.in_transaction = False

    def is_closed(self) -> bool:
        return self.closed

    def is_in_transaction(self) -> bool:
        return self.in_transaction

    def terminate(self) -> None:
        self.closed = True

    async def close(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 (asyncpg's)
        self.closed = True


class Server:
    """Opens stand-ins, counting those open at once; can be told to refuse or to stall."""

    def __init__(self) -> None:
        self.opened: list[StandIn] = []
        self.refuse = False
        self.stall: asyncio.Event | None = None
        self.most_open = 0

    async def connect(self) -> StandIn:
        if self.stall is not None:
            await self.stall.wait()
        if self.refuse:
            raise ConnectionRefusedError
        conn = StandIn(len(self.opened))
        self.opened.append(conn)
        self.most_open = max(self.most_open, sum(not c.closed for c in self.opened))
        return conn


def pool_of(server: Server, size: int, wait_timeout: float = 1.0) -> ConnectionPool:
    return ConnectionPool(server.connect, size, wait_timeout)  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_place_freed_by_a_closed_connection_is_kept_for_the_borrower_in_line() -> None:
    server = Server()
    pool = pool_of(server, size=2)
    x, y = await pool.acquire(), await pool.acquire()
    first = asyncio.create_task(pool.acquire())
    await settle()
    pool.release(x, reusable=False)  # closed: its place goes to `first`...
    second = asyncio.create_task(pool.acquire())  # ...not to a borrower who came later
    await settle()
    assert first.done()
    assert not second.done()
    assert (await first) not in (x, y)  # a new connection, in the kept place
    pool.release(y, reusable=True)
    assert await second is y
    assert server.most_open == 2


async def test_a_borrower_woken_for_a_place_keeps_it_when_a_newcomer_runs_first() -> None:
    # The order that stranded a borrower while its place was not kept: a newcomer runs
    # before the woken borrower and takes the free place, then a connection comes back with
    # nobody in line and goes idle, and the woken borrower found the pool full again.
    server = Server()
    pool = pool_of(server, size=2, wait_timeout=0.5)
    x, y = await pool.acquire(), await pool.acquire()
    woken = asyncio.create_task(pool.acquire())
    await settle()
    # One turn of the event loop runs these in this order: the newcomer's first step, y's
    # return, then the woken borrower (whose wake-up the release of x schedules last).
    newcomer = asyncio.create_task(pool.acquire())
    asyncio.get_running_loop().call_soon(partial(pool.release, y, reusable=True))
    pool.release(x, reusable=False)
    got = {await woken, await newcomer}  # neither times out
    assert y in got
    assert len(got) == 2
    assert server.most_open == 2


async def test_a_refused_connect_gives_its_place_to_the_next_in_line() -> None:
    server = Server()
    pool = pool_of(server, size=1)
    held = await pool.acquire()
    first, second = asyncio.create_task(pool.acquire()), asyncio.create_task(pool.acquire())
    await settle()
    server.refuse = True
    pool.release(held, reusable=False)  # `first` gets the place and fails to connect
    with pytest.raises(ConnectionRefusedError):
        await first
    with pytest.raises(ConnectionRefusedError):
        await second  # woken in turn, tries, fails fast: nobody waits out the timeout
    server.refuse = False
    assert pool.lent == 0
    conn = await pool.acquire()
    assert not conn.is_closed()


async def test_a_waiter_cancelled_with_a_place_kept_for_it_passes_the_place_on() -> None:
    server = Server()
    pool = pool_of(server, size=1)
    held = await pool.acquire()
    first, second = asyncio.create_task(pool.acquire()), asyncio.create_task(pool.acquire())
    await settle()
    pool.release(held, reusable=False)  # the place is kept for `first`...
    first.cancel()  # ...which is cancelled before it runs
    conn = await asyncio.wait_for(second, 1)
    assert conn is not held
    assert first.cancelled()
    assert server.most_open == 1


async def test_unclean_connections_are_closed_never_lent_again() -> None:
    server = Server()
    pool = pool_of(server, size=1)
    conn = await pool.acquire()
    conn.in_transaction = True
    pool.release(conn, reusable=True)
    assert conn.closed
    again = await pool.acquire()
    assert again is not conn
    pool.release(again, reusable=True)
    assert await pool.acquire() is again
    assert pool.lent == 1


async def test_a_closed_pool_refuses_borrowers_and_closes_what_comes_back() -> None:
    server = Server()
    pool = pool_of(server, size=2)
    lent, idle = await pool.acquire(), await pool.acquire()
    pool.release(idle, reusable=True)
    other = await pool.acquire()
    assert other is idle
    waiting = asyncio.create_task(pool.acquire())
    await settle()
    pool.release(other, reusable=True)  # handed to `waiting`
    assert await waiting is other
    in_line = asyncio.create_task(pool.acquire())
    await settle()
    await pool.close()
    with pytest.raises(asyncpg.InterfaceError):
        await in_line
    with pytest.raises(asyncpg.InterfaceError):
        await pool.acquire()
    pool.release(lent, reusable=True)
    pool.release(other, reusable=True)
    assert lent.closed
    assert other.closed
    assert pool.lent == 0


async def test_a_connection_that_opens_after_the_pool_closed_is_closed() -> None:
    server = Server()
    server.stall = asyncio.Event()
    pool = pool_of(server, size=1)
    opening = asyncio.create_task(pool.acquire())
    await settle()
    await pool.close()
    server.stall.set()
    with pytest.raises(asyncpg.InterfaceError):
        await opening
    assert all(conn.closed for conn in server.opened)
    assert pool.lent == 0


async def test_under_churn_never_more_than_size_open_and_nothing_lost() -> None:
    server = Server()
    pool = pool_of(server, size=3, wait_timeout=0.05)
    rng = random.Random(7)
    timed_out = 0

    async def borrower() -> None:
        nonlocal timed_out
        for _ in range(40):
            try:
                conn = await pool.acquire()
            except TimeoutError:
                timed_out += 1
                continue
            reusable = False  # as AsyncpgDatabase does: a cancelled borrower's is closed
            try:
                await asyncio.sleep(rng.choice((0, 0, 0.001)))
                reusable = rng.random() > 0.2
            finally:
                pool.release(conn, reusable=reusable)

    tasks = [asyncio.create_task(borrower()) for _ in range(12)]
    await asyncio.sleep(0.01)
    for task in rng.sample(tasks, 3):
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert server.most_open <= 3
    assert pool.lent == 0  # every place taken was given back
    conns = [await pool.acquire() for _ in range(3)]  # and all three places are usable
    assert len({id(c) for c in conns}) == 3
