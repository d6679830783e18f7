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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from credit.modules.ingest.follow import closing_line, follow, ingest_here, progress_bar

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from credit.modules.ingest.schemas import IngestReport, IngestStatus
    from credit.plugins.queue import JobRunner
    from credit.settings import Settings

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
