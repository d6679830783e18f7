"""Operator command: `credit payments import FILE [--report FILE]`.

Applies the bank's repayment file and follows the job until it ends: each stage as a line
once it is over, a bar with the rows done, and the report's summary with the first rejected
rows (`--report FILE` writes the whole report as JSON). It exits non-zero when the job fails.
With `REDIS_URL` the SAQ worker does the work (the file is first copied into the shared upload
directory); without it the import runs in this command's process.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from credit.job_commands import (
    Outcome,
    Stages,
    enqueue_and_follow,
    run_here,
    stages,
    withdrawn,
    worker_timeout_option,
)

if TYPE_CHECKING:
    from datetime import date

    from credit.modules.collections.schemas import CollectionsReport
    from credit.settings import Settings

LISTED = 20


@click.group(name="payments")
def payments() -> None:
    """The bank's repayment files."""


@payments.command(name="import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the whole report (every rejected row) to this JSON file.",
)
@worker_timeout_option()
def import_file(file: Path, report_path: Path | None, worker_timeout: int) -> None:
    """Apply FILE (CSV or xlsx: Reference, Customer ID, Loan ID, Amount, Paid On) as payments.

    Rows that make-payment would refuse are rejected and listed; references already applied
    are skipped, so running a file again applies only what it did not apply before."""
    from rich.console import Console

    from credit.clock import clock_for
    from credit.settings import Settings

    settings = Settings.from_env()
    today = clock_for(settings).today()
    console = Console(soft_wrap=True)
    started = time.monotonic()
    with stages(console, "rows") as show:
        if settings.redis_url:
            outcome = asyncio.run(_enqueue_and_follow(settings, file, today, show, worker_timeout))
        else:
            outcome = asyncio.run(run_here(settings, _import(file, today), show))
    status, report, failure = outcome
    seconds = time.monotonic() - started
    if status != "complete" or report is None:
        console.print(f"[red]import failed[/] after {seconds:.1f} s: {failure}", highlight=False)
        raise SystemExit(1)
    console.print(f"[green]import complete[/] in {seconds:.1f} s", highlight=False)
    if report_path is not None:
        import msgspec

        report_path.write_bytes(msgspec.json.format(msgspec.json.encode(report)))
    print_report(console, report, report_path)


def print_report(console: Any, report: CollectionsReport, report_path: Path | None) -> None:
    console.print(report.summary(), highlight=False)
    for rejected in report.rejected[:LISTED]:
        console.print(
            f"  rejected row {rejected.row} ({rejected.reference}): {rejected.reason}",
            highlight=False,
        )
    if report_path is not None:
        console.print(f"the whole report: {report_path}", highlight=False)
    elif len(report.rejected) > LISTED:
        more = len(report.rejected) - LISTED
        console.print(f"  ... {more} more; the whole report: --report FILE", highlight=False)


def _import(file: Path, today: date) -> Any:
    """The import's work for `run_here`."""

    async def work(alchemy: Any, progress: Any) -> CollectionsReport:
        from credit.modules.collections.jobs import run_import

        return await run_import(alchemy, file, today, progress)

    return work


async def _enqueue_and_follow(
    settings: Settings, file: Path, today: date, show: Stages, worker_timeout: float
) -> Outcome[CollectionsReport]:
    """The file is copied where the worker reads uploads, then queued; the copy goes again
    when the database refuses the command or no worker takes the job."""
    from credit.modules.collections.jobs import import_collections
    from credit.modules.collections.schemas import CollectionsReport

    folder = settings.upload_dir / "collections"
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"{uuid.uuid4().hex}.upload"
    shutil.copyfile(file, copy)
    try:
        outcome = await enqueue_and_follow(
            settings,
            import_collections,
            CollectionsReport,
            show,
            worker_timeout,
            path=str(copy.resolve()),
            as_of=today.isoformat(),
        )
    except click.ClickException:
        copy.unlink(missing_ok=True)
        raise
    if outcome[2] == withdrawn(worker_timeout):
        copy.unlink(missing_ok=True)
    return outcome
