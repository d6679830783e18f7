"""Operator commands: `credit close-day [--date D]` and `credit portfolio [--as-of D] [--csv FILE]`.

`credit close-day` closes every date after the last closed one up to `--date` (yesterday in
the lender's time zone by default): with `REDIS_URL` the SAQ worker does it and the command
follows the job; without it the close runs in this process. Either way it shows each stage, a
bar with the loans read, and ends with each closed day's summary table; it exits non-zero when
the close fails. `credit portfolio` prints a closed date's summary (the latest by default) or
writes it as CSV. Both say so when nothing has been closed yet.
"""

from __future__ import annotations

import asyncio
import csv
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console

    from credit.modules.portfolio.schemas import CloseReport, Portfolio
    from credit.settings import Settings

POLL_SECONDS = 0.2
NOTHING_CLOSED = "Nothing has been closed yet: run `credit close-day` first."


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


@click.command(name="close-day")
@click.option("--date", "until", help="The last date to close (YYYY-MM-DD); default yesterday.")
def close_day(until: str | None) -> None:
    """Close the lender's day: classify every loan (SMA/NPA) for each date not yet closed."""
    from rich.console import Console

    from credit.clock import clock_for
    from credit.settings import Settings

    settings = Settings.from_env()
    today = clock_for(settings).today()
    last = _day(until)
    console = Console(soft_wrap=True)
    started = time.monotonic()
    with _bar(console) as show:
        if settings.redis_url:
            status, report, error = asyncio.run(_enqueue_and_follow(settings, last, today, show))
        else:
            status, report, error = asyncio.run(_close_here(settings, last, today, show))
    seconds = time.monotonic() - started
    if status != "complete" or report is None:
        console.print(f"[red]close of day failed[/] after {seconds:.1f} s: {error}")
        raise SystemExit(1)
    if not report.closed:
        latest = report.latest_closed
        console.print(f"nothing to close: every date up to {latest} is closed already")
        return
    console.print(
        f"[green]closed[/] {len(report.closed)} day(s), {report.closed[0].as_of} to "
        f"{report.closed[-1].as_of}, {report.loans_read:,} loans read, in {seconds:.1f} s",
        highlight=False,
    )
    shown = report.closed if len(report.closed) <= 3 else report.closed[-1:]
    for summary in shown:
        print_summary(console, summary)


class _Stages:
    def __init__(self, console: Console, bar: Any) -> None:
        self.console, self.bar = console, bar
        self.task = bar.add_task("queued", total=None, rows=0)
        self.stage, self.since = "queued", time.monotonic()

    def __call__(self, stage: str, rows_done: int) -> None:
        if stage != self.stage:
            took = time.monotonic() - self.since
            self.console.print(f"  {self.stage} ({took:.1f} s)", highlight=False)
            self.stage, self.since = stage, time.monotonic()
        self.bar.update(self.task, description=stage, rows=rows_done)


class _bar:
    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[rows]:,} loans"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.console = console

    def __enter__(self) -> _Stages:
        self.progress.__enter__()
        return _Stages(self.console, self.progress)

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)


async def _close_here(
    settings: Settings, until: date | None, today: date, show: _Stages
) -> tuple[str, CloseReport | None, str | None]:
    from credit.db.database import sqlalchemy_config
    from credit.modules.portfolio.jobs import run_close

    if settings.is_embedded:
        from credit.db.migrations import upgrade_database_async

        await upgrade_database_async(settings)
    alchemy = sqlalchemy_config(settings)

    async def progress(stage: str, rows_done: int) -> None:
        show(stage, rows_done)

    try:
        report = await run_close(alchemy, until, today, progress)
    except Exception as exc:  # the job's way: its own words, not a traceback
        return "failed", None, getattr(exc, "detail", None) or str(exc) or type(exc).__name__
    finally:
        await alchemy.get_engine().dispose()
    return "complete", report, None


async def _enqueue_and_follow(
    settings: Settings, until: date | None, today: date, show: _Stages
) -> tuple[str, CloseReport | None, str | None]:
    import msgspec

    from credit.modules.portfolio.jobs import close_day as close_job
    from credit.modules.portfolio.schemas import CloseReport
    from credit.plugins.queue import JobQueuePlugin

    jobs = JobQueuePlugin(settings)
    jobs.register(close_job)
    job_id = await jobs.runner.enqueue(
        "close_day", until=None if until is None else until.isoformat(), today=today.isoformat()
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
            return "complete", msgspec.convert(state.result, CloseReport, strict=False), None
        await asyncio.sleep(POLL_SECONDS)


def print_summary(console: Console, summary: Portfolio) -> None:
    from rich.table import Table

    table = Table(title=f"portfolio at the close of {summary.as_of}", title_justify="left")
    table.add_column("classification")
    table.add_column("loans", justify="right")
    table.add_column("outstanding", justify="right")
    for name, loans, outstanding in summary.table():
        table.add_row(name, f"{loans:,}", f"{outstanding:,.2f}")
    console.print(table)
    console.print(
        f"PAR 30 {summary.par_30}  PAR 90 {summary.par_90}  NPA ratio {summary.npa_ratio}",
        highlight=False,
    )


@click.command(name="portfolio")
@click.option("--as-of", "as_of", help="A closed date (YYYY-MM-DD); default the latest.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the summary to this CSV file instead of printing it.",
)
def portfolio(as_of: str | None, csv_path: Path | None) -> None:
    """Print the portfolio at a closed date (loans and outstanding by classification)."""
    from rich.console import Console

    from credit.settings import Settings

    settings = Settings.from_env()
    summary, latest = asyncio.run(_read_portfolio(settings, _day(as_of)))
    if summary is None:
        if latest is None:
            raise click.ClickException(NOTHING_CLOSED)
        raise click.ClickException(f"{as_of} is not a closed date; the latest is {latest}.")
    if csv_path is not None:
        with csv_path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["as_of", "classification", "loans", "outstanding"])
            for name, loans, outstanding in summary.table():
                writer.writerow([summary.as_of.isoformat(), name, loans, f"{outstanding:.2f}"])
        click.echo(f"wrote {csv_path}")
        return
    print_summary(Console(soft_wrap=True), summary)


async def _read_portfolio(
    settings: Settings, as_of: date | None
) -> tuple[Portfolio | None, date | None]:
    from credit.db.database import provide_services, sqlalchemy_config
    from credit.modules.portfolio.schemas import Portfolio
    from credit.modules.portfolio.service import PortfolioService

    if settings.is_embedded:
        from credit.db.migrations import upgrade_database_async

        await upgrade_database_async(settings)  # a fresh clone has no database yet
    alchemy = sqlalchemy_config(settings)
    try:
        async with provide_services(alchemy, PortfolioService) as (service,):
            latest = await service.latest_closed()
            day = as_of or latest
            found = None if day is None else await service.closed_day(day)
            if found is None or day is None:
                return None, latest
            return Portfolio.of(found, await service.day_summary(day)), latest
    finally:
        await alchemy.get_engine().dispose()
