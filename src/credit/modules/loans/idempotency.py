"""The loans module's idempotent writes (create-loan, make-payment) and the purge of old keys.

The machinery is `credit.idempotency`'s, shared with the customers module (register); a
payment's refusals are answers too. Rows are kept `KEEP` (at least the contract's 24 hours)
and then purged by `purge_old_keys`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from credit import idempotency
from credit.db.database import provide_services
from credit.idempotency import (
    KEEP,
    PURGE_KEYS,
    IdempotencyKeyHeader,
    fingerprint,
    key_scope,
)
from credit.lending.servicing import PaymentRefused
from credit.modules.loans.service import LoanService

__all__ = [
    "IdempotencyKeyHeader",
    "IdempotentWrites",
    "KeyPurge",
    "fingerprint",
    "key_scope",
    "purge_old_keys",
]

logger = logging.getLogger("credit.idempotency")

PURGE_FIRST_AFTER_S = 60.0
PURGE_EVERY_S = 3600.0


class IdempotentWrites(idempotency.IdempotentWrites):
    """On the request's loans service; a refused payment is an answer like a conflict."""

    refusals = (*idempotency.REFUSALS, PaymentRefused)


async def purge_old_keys(alchemy: SQLAlchemyAsyncConfig, now: datetime | None = None) -> int:
    """Delete the keys older than `KEEP`; the number deleted."""
    older_than = (now or datetime.now(UTC)) - KEEP
    async with provide_services(alchemy, LoanService) as (loans,):
        result = await loans.execute(PURGE_KEYS, {"older_than": older_than})
        return int(getattr(result, "rowcount", 0) or 0)


class KeyPurge:
    """While the app runs: purge old keys a minute after it started (not during start-up, so
    starting touches no table) and then every `PURGE_EVERY_S`; stopped with the app."""

    def __init__(self, alchemy: SQLAlchemyAsyncConfig) -> None:
        self.alchemy = alchemy
        self._task: asyncio.Task[None] | None = None

    async def _purge(self) -> None:
        try:
            await purge_old_keys(self.alchemy)
        except Exception as exc:  # a database briefly down: try again next time
            logger.warning("could not purge old idempotency keys: %s", type(exc).__name__)

    async def _loop(self) -> None:
        await asyncio.sleep(PURGE_FIRST_AFTER_S)
        while True:
            await self._purge()
            await asyncio.sleep(PURGE_EVERY_S)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="purge-idempotency-keys")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
