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

if TYPE_CHECKING:
    from datetime import date

    from credit.modules.collections.schemas import CollectionsReport
    from credit.settings import Settings

POLL_SECONDS = 0.2
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
def import_file(file: Path, report_path: Path | None) -> None:
    """Apply FILE (CSV or xlsx: Reference, Customer ID, Loan ID, Amount, Paid On) as payments.

    Rows that make-payment would refuse are rejected and listed; references already applied
    are skipped, so running a file again applies only what it did not apply before."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from credit.clock import clock_for
    from credit.settings import Settings

    settings = Settings.from_env()
    today = clock_for(settings).today()
    console = Console(soft_wrap=True)
    started = time.monotonic()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("queued", total=None, rows=0)
        stage: dict[str, Any] = {"name": "queued", "since": time.monotonic()}

        def show(name: str, rows_done: int) -> None:
            if name != stage["name"]:
                took = time.monotonic() - stage["since"]
                console.print(f"  {stage['name']} ({took:.1f} s)", highlight=False)
                stage.update(name=name, since=time.monotonic())
            bar.update(task, description=name, rows=rows_done)

        if settings.redis_url:
            outcome = asyncio.run(_enqueue_and_follow(settings, file, today, show))
        else:
            outcome = asyncio.run(_import_here(settings, file, today, show))
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


async def _import_here(
    settings: Settings, file: Path, today: date, show: Any
) -> tuple[str, CollectionsReport | None, str | None]:
    from credit.db.database import sqlalchemy_config
    from credit.modules.collections.jobs import run_import

    if settings.is_embedded:
        from credit.db.migrations import upgrade_database_async

        await upgrade_database_async(settings)
    alchemy = sqlalchemy_config(settings)

    async def progress(stage: str, rows_done: int) -> None:
        show(stage, rows_done)

    try:
        report = await run_import(alchemy, file, today, progress)
    except Exception as exc:  # the job's way: its own words, not a traceback
        return "failed", None, getattr(exc, "detail", None) or str(exc) or type(exc).__name__
    finally:
        await alchemy.get_engine().dispose()
    return "complete", report, None


async def _enqueue_and_follow(
    settings: Settings, file: Path, today: date, show: Any
) -> tuple[str, CollectionsReport | None, str | None]:
    import msgspec

    from credit.modules.collections.jobs import import_collections
    from credit.modules.collections.schemas import CollectionsReport
    from credit.plugins.queue import JobQueuePlugin

    folder = settings.upload_dir / "collections"
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"{uuid.uuid4().hex}.upload"
    shutil.copyfile(file, copy)
    jobs = JobQueuePlugin(settings)
    jobs.register(import_collections)
    job_id = await jobs.runner.enqueue(
        "import_collections", path=str(copy.resolve()), as_of=today.isoformat()
    )
    while True:
        state = await jobs.runner.state(job_id)
        if state is None:
            return "failed", None, f"job {job_id} disappeared"
        if "stage" in state.meta:
            show(str(state.meta["stage"]), int(state.meta.get("rows_done", 0)))
        if state.finished:
            if state.status != "complete":
                return "failed", None, state.error
            return "complete", msgspec.convert(state.result, CollectionsReport, strict=False), None
        await asyncio.sleep(POLL_SECONDS)
