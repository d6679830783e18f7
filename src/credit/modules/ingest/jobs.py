"""The ingestion job: a plain SAQ job function, run by SAQ's worker or in-process.

The workbooks arrive as paths in the upload directory shared by web and worker processes
(never as bytes in the queue payload). Progress goes into the job's meta as `stage` and
`rows_done`; the result is the report as plain data. A failure stores its message in the
meta's `error` before re-raising, so status readers show the reason, not a traceback. The job
writes on the process's one engine (`ctx["alchemy"]`, the app's Advanced Alchemy config).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig

from credit.clock import FixedClock
from credit.modules.ingest.service import ingest_workbooks
from credit.modules.ingest.workbook import WorkbookLimits
from credit.plugins.queue import job_error, report_progress
from credit.settings import Settings


async def ingest_book(
    ctx: dict[str, Any], *, customers_path: str, loans_path: str, as_of: str
) -> Any:
    """`as_of`: the enqueuer's today (ISO date), the day the book is loaded as of, so a worker
    with a clock of its own still loads the book as of the day the upload or the command
    said."""
    settings: Settings = ctx["settings"]
    alchemy: SQLAlchemyAsyncConfig = ctx["alchemy"]

    async def progress(stage: str, rows_done: int) -> None:
        await report_progress(ctx, stage=stage, rows_done=rows_done)

    try:
        report = await ingest_workbooks(
            alchemy.get_engine(),
            Path(customers_path),
            Path(loans_path),
            FixedClock(date.fromisoformat(as_of)),
            progress,
            limits=WorkbookLimits.of(settings),
        )
    except Exception as exc:
        _discard_uploads(settings, customers_path, loans_path)
        await report_progress(ctx, stage="failed", error=job_error(exc))
        raise
    # Not in a `finally`: a job cancelled by a stopping worker (CancelledError) goes back on
    # the queue, and the next attempt needs the files.
    _discard_uploads(settings, customers_path, loans_path)
    return msgspec.to_builtins(report)


def _discard_uploads(settings: Settings, *paths: str) -> None:
    """Uploaded copies are ours to delete once read; an operator's own files are left alone."""
    uploads = settings.upload_dir.resolve()
    for raw in paths:
        path = Path(raw).resolve()
        if path.is_relative_to(uploads):
            path.unlink(missing_ok=True)
            if path.parent != uploads and not any(path.parent.iterdir()):
                path.parent.rmdir()
