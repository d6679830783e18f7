"""Operator commands: `credit ingest CUSTOMERS.xlsx LOANS.xlsx` and `credit sample-data`.

`credit ingest` enqueues the ingestion job on the job runner and follows it until it ends:
on a terminal a progress bar, each stage as a line once it is reached, and a closing line that
says how the run ended; then the report's summary, the remappings and the rejected rows (the
first few of each; `--report FILE` writes the whole report as JSON). It exits non-zero when
the job fails. With `REDIS_URL` the SAQ worker does the work (the files are first copied into
the shared upload directory); without it the job runs inside this command's own process.

Neither command builds the web app: they import the settings, the job runner and the
ingestion code only, and only once they run.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from rich.console import Console

    from credit.modules.ingest.schemas import IngestReport, IngestStatus
    from credit.plugins.queue import JobRunner
    from credit.settings import Settings

POLL_SECONDS = 0.2
# Where each stage puts the bar (the stages are the service's progress reports).
STAGE_SHARE = {
    "queued": 0,
    "reading": 5,
    "writing customers": 20,
    "reading loans": 25,
    "writing loans": 50,
    "committing": 95,
    "done": 100,
}
# How many remappings and rejected rows the summary lists before pointing at the report.
LISTED = 20

WorkbookPath = click.Path(dir_okay=False, path_type=Path)


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise click.BadParameter(f"{path}: no such file")
    return path


@click.command(name="ingest")
@click.argument("customers", type=WorkbookPath)
@click.argument("loans", type=WorkbookPath)
@click.option("--no-wait", is_flag=True, help="Print the job id and return at once.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the whole report (every remapping and rejected row) to this JSON file.",
)
def ingest(customers: Path, loans: Path, no_wait: bool, report_path: Path | None) -> None:
    """Load customer_data.xlsx and loan_data.xlsx into the book.

    Every row is checked; bad rows are rejected and listed, the rest loads in one
    transaction. Re-running the same files changes nothing."""
    customers, loans = _existing(customers), _existing(loans)
    from rich.console import Console

    from credit.modules.ingest.jobs import ingest_book
    from credit.plugins.queue import JobQueuePlugin
    from credit.settings import Settings

    settings = Settings.from_env()
    _configure_logging(settings)
    if no_wait and settings.redis_url is None:
        raise click.UsageError("--no-wait needs REDIS_URL: in-process jobs end with the command.")
    jobs = JobQueuePlugin(settings)
    jobs.register(ingest_book)
    console = Console()
    status = asyncio.run(_ingest(settings, jobs.runner, customers, loans, no_wait, console))
    if status is None:
        return
    if status.report is not None and report_path is not None:
        import msgspec

        report_path.write_bytes(msgspec.json.format(msgspec.json.encode(status.report)))
    if status.status == "failed":
        raise SystemExit(1)
    if status.report is not None:
        print_report(console, status.report, report_path, status.job_id)


@click.command(name="sample-data")
@click.option("--customers", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--loans", type=click.IntRange(min=1), default=600, show_default=True)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("data"),
    show_default=True,
)
@click.option("--seed", type=int, default=42, show_default=True)
def sample_data(customers: int, loans: int, out: Path, seed: int) -> None:
    """Write synthetic customer_data.xlsx and loan_data.xlsx in the original format."""
    from credit.modules.ingest.sample import write_sample_book

    book = write_sample_book(out, customers, loans, seed)
    click.echo(f"wrote {book.customers_path} and {book.loans_path}")


def print_report(
    console: Console, report: IngestReport, report_path: Path | None, job_id: str
) -> None:
    """The counts, then the first remappings and rejected rows, and where the rest is."""
    console.print(report.summary(), highlight=False)
    for remapped in report.remappings[:LISTED]:
        console.print(
            f"  remapped loan id {remapped.source_loan_id} (loans row {remapped.row}, "
            f"customer {remapped.customer_id}) to {remapped.loan_id}",
            highlight=False,
        )
    for rejected in report.rejected[:LISTED]:
        console.print(
            f"  rejected {rejected.sheet} row {rejected.row}: {rejected.reason}", highlight=False
        )
    more = max(0, len(report.remappings) - LISTED) + max(0, len(report.rejected) - LISTED)
    if report_path is not None:
        console.print(f"the whole report: {report_path}", highlight=False)
    elif more:
        console.print(
            f"  ... {more} more not shown; the whole report: `credit ingest ... --report FILE`, "
            f"or GET /api/ingest/{job_id} while the job is kept",
            highlight=False,
        )


def _configure_logging(settings: Settings) -> None:
    """The app's logging (JSON lines, or readable ones on a terminal), without the app."""
    from litestar.config.app import AppConfig

    from credit.plugins.telemetry import logging_plugin

    logging_plugin(settings).on_app_init(AppConfig())


async def _ingest(
    settings: Settings,
    runner: JobRunner,
    customers: Path,
    loans: Path,
    no_wait: bool,
    console: Console,
) -> IngestStatus | None:
    from credit.modules.ingest.uploads import copy_to_uploads
    from credit.plugins.migrations import upgrade_database_async

    if settings.redis_url:
        customers, loans = copy_to_uploads(settings.upload_dir, customers, loans)
    elif settings.is_embedded:
        await upgrade_database_async(settings)  # a fresh clone has no database yet
    job_id = await runner.enqueue(
        "ingest_book", customers_path=str(customers.resolve()), loans_path=str(loans.resolve())
    )
    if no_wait:
        click.echo(job_id)
        return None
    return await follow(runner, job_id, console)


async def follow(runner: JobRunner, job_id: str, console: Console) -> IngestStatus:
    """Show the job's stages until it ends, then one line that says how it ended."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from credit.modules.ingest.controller import ingest_status

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    stage, stage_started = "queued", started
    # Transient: once the job ends the bar goes, and the closing line takes its place.
    with Progress(*columns, console=console, transient=True) as bar, _logs_above():
        task = bar.add_task("queued", total=100, rows=0)
        while True:
            state = await runner.state(job_id)
            if state is None:
                raise click.ClickException(f"job {job_id} disappeared")
            status = ingest_status(state)
            if status.progress is not None and status.progress.stage != stage:
                if status.progress.stage != "failed":
                    _stage_line(console, stage, time.monotonic() - stage_started)
                stage, stage_started = status.progress.stage, time.monotonic()
                bar.update(
                    task,
                    description=stage,
                    completed=STAGE_SHARE.get(stage, 0),
                    rows=status.progress.rows_done,
                )
            if state.finished:
                break
            await asyncio.sleep(POLL_SECONDS)
    elapsed = time.monotonic() - started
    if status.status == "complete":
        console.print(f"[green]ingestion complete[/] in {elapsed:.1f} s", highlight=False)
    else:
        console.print(
            f"[red]ingestion failed[/] after {elapsed:.1f} s: {status.error}", highlight=False
        )
    return status


def _stage_line(console: Console, stage: str, seconds: float) -> None:
    console.print(f"  {stage} ({seconds:.1f} s)", highlight=False)


@contextmanager
def _logs_above() -> Iterator[None]:
    """Log lines go above the bar while it runs, never onto its line.

    The bar redirects `sys.stdout`/`sys.stderr` to print above itself, but a logging handler
    keeps the stream it was given when logging was configured; point it at the redirected one
    for the while. Enter it once the bar has started."""
    swapped: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []
    redirected = {id(sys.__stdout__): sys.stdout, id(sys.__stderr__): sys.stderr}
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and id(handler.stream) in redirected:
            previous = handler.setStream(redirected[id(handler.stream)])
            if previous is not None:
                swapped.append((handler, previous))
    try:
        yield
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)
