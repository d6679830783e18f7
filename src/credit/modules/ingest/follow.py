"""`credit ingest`'s view of an ingestion: the stages, a bar, the closing line.

A queued job is followed until it ends (saying so when no worker takes it, and withdrawing it
after the command's `--worker-timeout`); without Redis the ingestion runs right here, showing
the same stages. Log lines print above the bar. Apart from `cli.py`, which holds the command's
options and its preparation of the database.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

import click

from credit.job_commands import NO_WORKER_NOTICE_SECONDS, POLL_SECONDS

if TYPE_CHECKING:
    from pathlib import Path

    from rich.console import Console
    from rich.progress import Progress

    from credit.modules.ingest.schemas import IngestStatus
    from credit.plugins.queue import JobRunner
    from credit.settings import Settings

# Where each stage puts the bar (the stages are the service's progress reports).
STAGE_SHARE = {
    "queued": 0,
    "starting": 0,
    "reading": 5,
    "writing customers": 20,
    "reading loans": 25,
    "writing loans": 50,
    "committing": 95,
    "done": 100,
}


@contextmanager
def progress_bar(console: Console) -> Iterator[Progress]:
    """A bar that goes away when done (the closing line takes its place); while it runs, log
    lines print above it."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar, _logs_above():
        yield bar


class StageDisplay:
    """The bar's task, and a line for each stage once it is over."""

    def __init__(self, bar: Progress, first: str = "queued") -> None:
        self.bar = bar
        self.task = bar.add_task(first, total=100, rows=0)
        self.stage = first
        self.started = self.stage_started = time.monotonic()

    def show(self, stage: str, rows_done: int) -> None:
        if stage != self.stage:
            if stage != "failed":
                seconds = time.monotonic() - self.stage_started
                self.bar.console.print(f"  {self.stage} ({seconds:.1f} s)", highlight=False)
            self.stage, self.stage_started = stage, time.monotonic()
        self.bar.update(
            self.task, description=stage, completed=STAGE_SHARE.get(stage, 0), rows=rows_done
        )

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


async def follow(
    runner: JobRunner, job_id: str, bar: Progress, worker_timeout: float | None = None
) -> tuple[IngestStatus, float]:
    """Show a queued job's stages until it ends. Returns its last status and the seconds it
    took. A job no worker takes is said to wait for one after a few seconds, and withdrawn
    after `worker_timeout` seconds (status "failed", saying so)."""
    from credit.modules.ingest.schemas import IngestStatus

    display = StageDisplay(bar)
    noticed = False
    while True:
        state = await runner.state(job_id)
        if state is None:
            raise click.ClickException(f"job {job_id} disappeared")
        status = IngestStatus.of(state)
        if status.progress is not None:
            display.show(status.progress.stage, status.progress.rows_done)
        if state.finished:
            return status, display.seconds
        if state.status == "queued" and not noticed and display.seconds >= NO_WORKER_NOTICE_SECONDS:
            noticed = True
            wait = f"; waiting up to {worker_timeout:.0f} s" if worker_timeout else ""
            bar.console.print(
                f"no worker has taken the job after {NO_WORKER_NOTICE_SECONDS:.0f} s: is a "
                f"worker consuming this queue? Start one with `credit workers run` (same "
                f"REDIS_URL){wait}.",
                highlight=False,
            )
        if (
            state.status == "queued"
            and worker_timeout is not None
            and display.seconds >= worker_timeout
            and await runner.withdraw(job_id, "no worker took the job")
        ):
            error = (
                f"no worker took the job within {worker_timeout:.0f} s, so it was withdrawn "
                "and nothing was loaded: start `credit workers run` and run this again"
            )
            return IngestStatus(job_id, "failed", error=error), display.seconds
        await asyncio.sleep(POLL_SECONDS)


async def ingest_here(
    settings: Settings, customers: Path, loans: Path, bar: Progress
) -> tuple[IngestStatus, float]:
    """Without Redis: the ingestion itself, in this process, showing its stages as they come,
    on the process's one engine. The job runner is not imported, nor (on PostgreSQL) Advanced
    Alchemy or Litestar."""
    from credit.clock import clock_for
    from credit.modules.ingest.schemas import IngestStatus
    from credit.modules.ingest.service import ingest_workbooks
    from credit.modules.ingest.workbook import WorkbookLimits

    display = StageDisplay(bar, first="starting")

    async def progress(stage: str, rows_done: int) -> None:
        display.show(stage, rows_done)

    try:
        if settings.is_embedded:
            from credit.db.database import sqlalchemy_config
            from credit.db.migrations import upgrade_database_async

            await upgrade_database_async(settings)  # a fresh clone has no database yet
            engine = sqlalchemy_config(settings).get_engine()
        else:
            # The same options as the app's engine, without Advanced Alchemy or Litestar.
            from credit.db.engine import ingestion_engine

            engine = ingestion_engine(settings)
        try:
            clock = clock_for(settings)  # CREDIT_TODAY, as the app's
            report = await ingest_workbooks(
                engine, customers, loans, clock, progress, limits=WorkbookLimits.of(settings)
            )
        finally:
            await engine.dispose()
    except Exception as exc:  # the job's way: its own words, not a traceback
        return IngestStatus("", "failed", error=str(exc) or type(exc).__name__), display.seconds
    return IngestStatus("", "complete", report=report), display.seconds


def closing_line(console: Console, status: IngestStatus, seconds: float) -> None:
    if status.status == "complete":
        console.print(f"[green]ingestion complete[/] in {seconds:.1f} s", highlight=False)
    else:
        console.print(
            f"[red]ingestion failed[/] after {seconds:.1f} s: {status.error}", highlight=False
        )


@contextmanager
def _logs_above() -> Iterator[None]:
    """Log lines go above the bar while it runs, never onto its line.

    The bar redirects `sys.stdout`/`sys.stderr` to print above itself, but a logging handler
    configured before keeps the stream it was given; point it at the redirected one for the
    while. Enter it once the bar has started."""
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
