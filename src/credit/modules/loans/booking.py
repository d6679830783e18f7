"""Serialising bookings for one customer.

On PostgreSQL the customer's row lock (`SELECT ... FOR UPDATE`) does it and this gate is
open. SQLite has no row locks and the embedded default is one process, so there one
process-wide lock queues bookings; SQLite serialises writers anyway, so nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class BookingGate:
    def __init__(self, serialise_in_process: bool) -> None:
        self._lock = asyncio.Lock() if serialise_in_process else None

    @asynccontextmanager
    async def hold(self, customer_id: int) -> AsyncIterator[None]:
        if self._lock is None:
            yield
            return
        async with self._lock:
            yield
