"""The collections job: a plain SAQ job function, run by SAQ's worker or in-process.

The file arrives as a path in the upload directory shared by web and worker processes (or the
operator's own file, from `credit payments import`). Progress goes into the job's meta as
`stage` and `rows_done`; the result is the report as plain data. A failure stores its message
in the meta's `error` first."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from credit.db.database import provide_services
from credit.modules.collections.apply import apply_collections
from credit.modules.collections.schemas import CollectionsReport
from credit.modules.loans.api import LoanService
from credit.plugins.queue import job_error, job_result, report_progress
from credit.settings import Settings


async def run_import(
    alchemy: SQLAlchemyAsyncConfig, path: Path, today: date, progress: Any
) -> CollectionsReport:
    async with provide_services(alchemy, LoanService) as (loans,):
        return await apply_collections(loans, path, today, progress)


async def import_collections(ctx: dict[str, Any], *, path: str, as_of: str) -> Any:
    """`as_of`: the enqueuer's today (ISO date): no payment may be dated after it."""
    settings: Settings = ctx["settings"]
    alchemy: SQLAlchemyAsyncConfig = ctx["alchemy"]

    async def progress(stage: str, rows_done: int) -> None:
        await report_progress(ctx, stage=stage, rows_done=rows_done)

    try:
        report = await run_import(alchemy, Path(path), date.fromisoformat(as_of), progress)
    except Exception as exc:
        await report_progress(ctx, stage="failed", error=job_error(exc))
        _discard_upload(settings, path)
        raise
    _discard_upload(settings, path)
    return job_result(report)


def _discard_upload(settings: Settings, raw: str) -> None:
    """An uploaded copy is ours to delete once read; an operator's own file is left alone."""
    path = Path(raw).resolve()
    if path.is_relative_to(settings.upload_dir.resolve()):
        path.unlink(missing_ok=True)
