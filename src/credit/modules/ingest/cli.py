"""Operator commands: `credit ingest CUSTOMERS.xlsx LOANS.xlsx` and `credit sample-data`.

`credit ingest` enqueues the ingestion job on the app's job runner and follows it with a
progress bar until it ends, then prints the report's summary; it exits non-zero when the job
fails. With `REDIS_URL` the SAQ worker does the work (the files are first copied into the
shared upload directory); without it the job runs inside this command's own process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from litestar import Litestar
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from credit.modules.ingest.controller import ingest_status
from credit.modules.ingest.sample import write_sample_book
from credit.modules.ingest.schemas import IngestStatus
from credit.modules.ingest.uploads import copy_to_uploads
from credit.plugins.migrations import upgrade_database_async
from credit.plugins.queue import JobQueuePlugin, JobRunner
from credit.settings import Settings

POLL_SECONDS = 0.5
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

WorkbookPath = click.Path(exists=True, dir_okay=False, path_type=Path)


def register_commands(cli: click.Group) -> None:
    @cli.command(name="ingest")
    @click.argument("customers", type=WorkbookPath)
    @click.argument("loans", type=WorkbookPath)
    @click.option("--no-wait", is_flag=True, help="Print the job id and return at once.")
    def ingest(app: Litestar, customers: Path, loans: Path, no_wait: bool) -> None:
        """Load a customers workbook and a loans workbook into the book."""
        settings: Settings = app.state.settings
        runner = app.plugins.get(JobQueuePlugin).runner
        if no_wait and settings.redis_url is None:
            raise click.UsageError(
                "--no-wait needs REDIS_URL: in-process jobs end with the command."
            )
        status = asyncio.run(_ingest(settings, runner, customers, loans, no_wait))
        if status is None:
            return
        console = Console()
        if status.status == "failed":
            console.print(f"[red]Ingestion failed:[/] {status.error}")
            raise SystemExit(1)
        if status.report is not None:
            console.print(status.report.summary())
            for rejected in status.report.rejected[:20]:
                console.print(f"  rejected {rejected.sheet} row {rejected.row}: {rejected.reason}")
            if len(status.report.rejected) > 20:
                console.print(f"  ... and {len(status.report.rejected) - 20} more rejected rows")

    @cli.command(name="sample-data")
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
        book = write_sample_book(out, customers, loans, seed)
        click.echo(f"wrote {book.customers_path} and {book.loans_path}")


async def _ingest(
    settings: Settings, runner: JobRunner, customers: Path, loans: Path, no_wait: bool
) -> IngestStatus | None:
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
    return await _follow(runner, job_id)


async def _follow(runner: JobRunner, job_id: str) -> IngestStatus:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("queued", total=100, rows=0)
        while True:
            state = await runner.state(job_id)
            if state is None:
                raise click.ClickException(f"job {job_id} disappeared")
            status = ingest_status(state)
            if status.progress is not None:
                stage = status.progress.stage
                bar.update(
                    task,
                    description=stage,
                    completed=STAGE_SHARE.get(stage, 0),
                    rows=status.progress.rows_done,
                )
            if state.finished:
                if status.status == "complete":
                    bar.update(task, description="done", completed=100)
                return status
            await asyncio.sleep(POLL_SECONDS)
