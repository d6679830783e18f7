"""Operator commands: `credit ingest CUSTOMERS.xlsx LOANS.xlsx` and `credit sample-data`.

`credit ingest` first says where it writes (the database, its password hidden), refuses a
database behind its migrations (naming `credit database upgrade`) and one that holds the
synthetic sample (`sample_book.py`: `--replace-sample` or `--merge`), then runs the ingestion
job and follows it until it ends: on a terminal a progress bar, each stage as a line once it
is reached, and a closing line that says how the run ended; then the report's summary, the
remappings and the rejected rows (the first few of each; `--report FILE` writes the whole
report as JSON). Log lines are shown only with `-v`. It exits non-zero when the job fails.
With `REDIS_URL` the SAQ worker does the work (the files are first copied into the shared
upload directory); a job no worker has taken within a few seconds is said to be waiting for
one (`credit workers run`), and after `--worker-timeout` seconds it is withdrawn with its
files and the command exits non-zero. Without Redis the ingestion runs right in this
command's process.

Neither command builds the web app, and each imports what it needs only once it runs: without
Redis, `credit ingest` imports the ingestion code and not the web framework or job runner.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from credit.modules.ingest.schemas import IngestReport, IngestStatus
    from credit.plugins.queue import JobRunner
    from credit.settings import Settings

POLL_SECONDS = 0.2
# After this long still queued, the command says no worker has taken the job.
NO_WORKER_NOTICE_SECONDS = 5.0
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
# Without -v, these loggers show warnings and errors only: the enqueue, Alembic's plugin and
# the job's own lines are not the operator's business.
QUIETED = ("", "saq", "credit", "alembic", "advanced_alchemy")
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
@click.option(
    "--replace-sample",
    is_flag=True,
    help="The database holds the synthetic sample: delete it first (with everything done on "
    "it through the API), then load these files.",
)
@click.option(
    "--merge",
    is_flag=True,
    help="The database holds the synthetic sample: load these files into it anyway.",
)
@click.option(
    "--worker-timeout",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    help="With REDIS_URL: seconds to wait for a worker to take the job before withdrawing it.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also show the log lines.")
def ingest(
    customers: Path,
    loans: Path,
    no_wait: bool,
    report_path: Path | None,
    replace_sample: bool,
    merge: bool,
    worker_timeout: int,
    verbose: bool,
) -> None:
    """Load customer_data.xlsx and loan_data.xlsx into the book.

    Every row is checked; bad rows are rejected and listed, the rest loads in one
    transaction. Re-running the same files changes nothing."""
    customers, loans = _existing(customers), _existing(loans)
    if replace_sample and merge:
        raise click.UsageError("--replace-sample and --merge exclude each other.")
    from rich.console import Console

    from credit.db.schema_state import served_database
    from credit.settings import Settings

    settings = Settings.from_env()
    if no_wait and settings.redis_url is None:
        raise click.UsageError("--no-wait needs REDIS_URL: in-process jobs end with the command.")
    console = Console(soft_wrap=True)  # long lines (paths, reasons) stay whole for grep
    where = f"ingesting into {served_database(settings.database_url)}"
    if settings.redis_url:
        where += f" (a worker does it: queue {settings.queue_name!r} on "
        where += f"{served_database(settings.redis_url)})"
    console.print(where, highlight=False)
    with _restored_log_levels():
        _ingest(
            settings,
            console,
            customers,
            loans,
            no_wait,
            report_path,
            merge,
            replace_sample,
            worker_timeout,
            verbose,
        )


def _ingest(
    settings: Settings,
    console: Console,
    customers: Path,
    loans: Path,
    no_wait: bool,
    report_path: Path | None,
    merge: bool,
    replace_sample: bool,
    worker_timeout: int,
    verbose: bool,
) -> None:
    sample = asyncio.run(prepare(settings, replace_sample, merge))
    if no_wait:
        _configure_logging(settings, verbose)
        _, job_id, _ = asyncio.run(_enqueue(settings, customers, loans))
        click.echo(job_id)
        return
    with progress_bar(console) as bar:
        if settings.redis_url:
            # Configured once the bar has redirected stdout, so log lines print above it.
            _configure_logging(settings, verbose)
            status, seconds = asyncio.run(
                _enqueue_and_follow(settings, customers, loans, bar, worker_timeout)
            )
        else:
            status, seconds = asyncio.run(ingest_here(settings, customers, loans, bar))
    closing_line(console, status, seconds)
    if sample and merge and status.status == "complete":
        asyncio.run(_on_engine(settings, "clear_mark"))
    if status.report is not None and report_path is not None:
        import msgspec

        report_path.write_bytes(msgspec.json.format(msgspec.json.encode(status.report)))
    if status.status != "complete":
        raise SystemExit(1)
    if status.report is not None:
        kept = f"GET /api/ingest/{status.job_id}" if settings.redis_url else None
        print_report(console, status.report, report_path, kept)


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
    console: Console, report: IngestReport, report_path: Path | None, kept: str | None
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
        where = "`credit ingest ... --report FILE`" + (f", or {kept}" if kept else "")
        console.print(f"  ... {more} more not shown; the whole report: {where}", highlight=False)


def _configure_logging(settings: Settings, verbose: bool) -> None:
    """The app's logging (JSON lines, or readable ones on a terminal), without the app; only
    warnings and errors unless `verbose`."""
    from litestar.config.app import AppConfig

    from credit.plugins.logs import logging_plugin

    logging_plugin(settings).on_app_init(AppConfig())
    if not verbose:
        for name in QUIETED:
            logging.getLogger(name).setLevel(logging.WARNING)


@contextmanager
def _restored_log_levels() -> Iterator[None]:
    """The levels `_configure_logging` quiets, as they were once the command is done (the
    tests run it in their own process)."""
    saved = {name: logging.getLogger(name).level for name in QUIETED}
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _engine(settings: Settings) -> Any:
    """The command's engine: the app's on SQLite, a plain one on PostgreSQL (no Advanced
    Alchemy, no Litestar)."""
    if settings.is_embedded:
        from credit.db.database import sqlalchemy_config

        return sqlalchemy_config(settings).get_engine()
    from credit.db.engine import ingestion_engine

    return ingestion_engine(settings)


async def prepare(settings: Settings, replace_sample: bool, merge: bool) -> bool:
    """Refuse a schema behind its migrations (the embedded default migrates itself, as its
    first `credit run` does) and a sample book unless told what to do with it; delete the
    sample when told to. Whether the book held the sample."""
    from credit.db.schema_state import schema_problem
    from credit.modules.ingest import sample_book

    if settings.is_embedded:
        from credit.db.migrations import upgrade_database_async

        await upgrade_database_async(settings)  # a fresh clone has no database yet
    engine = _engine(settings)
    try:
        problem = await schema_problem(engine)
        if problem:
            raise click.ClickException(problem)
        sample = await sample_book.holds_sample(engine)
        if sample and not (replace_sample or merge):
            raise click.ClickException(sample_book.refusal())
        if sample and replace_sample:
            await sample_book.delete_sample(engine)
    except click.ClickException:
        raise
    except Exception as exc:  # unreachable database and the like: its words, no traceback
        raise click.ClickException(f"cannot use the database: {exc}") from exc
    finally:
        await engine.dispose()
    return sample


async def _on_engine(settings: Settings, step: str) -> None:
    from credit.modules.ingest import sample_book

    engine = _engine(settings)
    try:
        await getattr(sample_book, step)(engine)
    finally:
        await engine.dispose()


def _runner(settings: Settings) -> JobRunner:
    from credit.modules.ingest.jobs import ingest_book
    from credit.plugins.queue import JobQueuePlugin

    jobs = JobQueuePlugin(settings)
    jobs.register(ingest_book)
    return jobs.runner


async def _enqueue(settings: Settings, customers: Path, loans: Path) -> tuple[JobRunner, str, Path]:
    """Hand the files to the SAQ worker: copies in the shared upload directory (the folder
    returned), then the job."""
    from credit.clock import clock_for
    from credit.modules.ingest.uploads import copy_to_uploads

    runner = _runner(settings)
    customers, loans = copy_to_uploads(settings.upload_dir, customers, loans)
    job_id = await runner.enqueue(
        "ingest_book",
        customers_path=str(customers.resolve()),
        loans_path=str(loans.resolve()),
        as_of=clock_for(settings).today().isoformat(),
    )
    return runner, job_id, customers.parent


async def _enqueue_and_follow(
    settings: Settings, customers: Path, loans: Path, bar: Progress, worker_timeout: float
) -> tuple[IngestStatus, float]:
    runner, job_id, folder = await _enqueue(settings, customers, loans)
    status, seconds = await follow(runner, job_id, bar, worker_timeout)
    if status.status == "failed" and await runner.state(job_id) is None:
        shutil.rmtree(folder, ignore_errors=True)  # withdrawn: its copies are ours to delete
    return status, seconds


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
