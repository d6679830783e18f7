"""The portfolio's Advanced Alchemy service: persistence of the close of day's records
(`records.py`). Deciding a loan's class is the lending rules' (`credit.lending.classification`);
walking the book is `close.py`'s."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository

from credit.db.database import Service, driver_errors
from credit.modules.portfolio import records
from credit.modules.portfolio.models import ClosedDay

# Rows per `executemany`.
BATCH = 5_000


class PortfolioService(Service[ClosedDay]):
    class Repo(SQLAlchemyAsyncRepository[ClosedDay]):
        model_type = ClosedDay

    repository_type = Repo

    async def latest_closed(self) -> date | None:
        value: date | None = (await self.execute(records.LATEST_CLOSED)).scalar_one_or_none()
        return value

    async def closed_at(self, day: date) -> datetime | None:
        """When the close of `day` began (its claim)."""
        found = await self.closed_day(day)
        return None if found is None else found["closed_at"]

    async def claim(self, days: list[date]) -> None:
        """Take the dates (a Conflict if another close took one first)."""
        now = datetime.now(UTC)
        await self.execute_many(records.CLAIM_DAY, [{"day": d, "closed_at": now} for d in days])

    async def execute_many(self, statement: Any, params: list[dict[str, Any]]) -> None:
        for start in range(0, len(params), BATCH):
            chunk = params[start : start + BATCH]
            if chunk:
                await self.execute_batch(statement, chunk)

    async def execute_batch(self, statement: Any, params: list[dict[str, Any]]) -> None:
        with driver_errors():
            connection = await self._connection()
            await connection.execute(statement, params)

    async def closed_day(self, day: date) -> dict[str, Any] | None:
        row = (await self.execute(records.CLOSED_DAY, {"day": day})).one_or_none()
        return None if row is None else dict(row._mapping)

    async def day_summary(self, day: date) -> list[dict[str, Any]]:
        return records.rows(await self.execute(records.DAY_SUMMARY, {"day": day}))

    async def latest_summary(self) -> list[dict[str, Any]]:
        return records.rows(await self.execute(records.LATEST_SUMMARY))

    async def recent_days(self, days: int) -> list[dict[str, Any]]:
        """The latest `days` closed dates, newest first, with their totals and NPA outstanding."""
        return records.rows(await self.execute(records.RECENT_DAYS, {"days": days}))

    async def history(self, loan_id: int) -> list[dict[str, Any]]:
        return records.rows(await self.execute(records.LOAN_HISTORY, {"loan_id": loan_id}))
