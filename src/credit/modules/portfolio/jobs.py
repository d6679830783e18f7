"""The close-of-day job: a plain SAQ job function, run by SAQ's worker or in-process, and the
daily cron job that runs it shortly after midnight in the lender's time zone (with Redis).

Progress goes into the job's meta as `stage` and `rows_done` (loans read); the result is the
close's report as plain data. A failure stores its message in the meta's `error` first."""

from __future__ import annotations

from datetime import date
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from credit.clock import clock_for
from credit.db.database import provide_services
from credit.modules.loans.api import LoanService
from credit.modules.portfolio.close import close_days
from credit.modules.portfolio.schemas import CloseReport
from credit.modules.portfolio.service import PortfolioService
from credit.plugins.queue import job_error, job_result, report_progress
from credit.settings import Settings


async def run_close(
    alchemy: SQLAlchemyAsyncConfig,
    until: date | None,
    today: date,
    progress: Any,
) -> CloseReport:
    """The close on the process's one engine, through the services' one way in."""
    async with provide_services(alchemy, LoanService, PortfolioService) as (loans, portfolio):
        return await close_days(loans, portfolio, until, today, progress)


async def close_day(ctx: dict[str, Any], *, until: str | None = None, today: str) -> Any:
    """`today`: the enqueuer's today (ISO date), so the dates closed are the ones it meant;
    `until`: the last date to close (yesterday when None)."""
    alchemy: SQLAlchemyAsyncConfig = ctx["alchemy"]

    async def progress(stage: str, rows_done: int) -> None:
        await report_progress(ctx, stage=stage, rows_done=rows_done)

    try:
        report = await run_close(
            alchemy,
            None if until is None else date.fromisoformat(until),
            date.fromisoformat(today),
            progress,
        )
    except Exception as exc:
        await report_progress(ctx, stage="failed", error=job_error(exc))
        raise
    return job_result(report)


async def scheduled_close(ctx: dict[str, Any]) -> Any:
    """The daily close (SAQ cron): every date up to yesterday in the lender's time zone."""
    settings: Settings = ctx["settings"]
    today = clock_for(settings).today()
    return await close_day(ctx, today=today.isoformat())
