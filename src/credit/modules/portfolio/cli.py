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

from credit.job_commands import (
    enqueue_and_follow,
    refuse_behind_migrations,
    run_here,
    stages,
    worker_timeout_option,
)

if TYPE_CHECKING:
    from rich.console import Console

    from credit.modules.portfolio.schemas import CloseReport, Portfolio
    from credit.settings import Settings

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
@worker_timeout_option()
def close_day(until: str | None, worker_timeout: int) -> None:
    """Close the lender's day: classify every loan (SMA/NPA) for each date not yet closed."""
    from rich.console import Console

    from credit.clock import clock_for
    from credit.settings import Settings

    settings = Settings.from_env()
    today = clock_for(settings).today()
    last = _day(until)
    console = Console(soft_wrap=True)
    started = time.monotonic()
    with stages(console, "loans") as show:
        if settings.redis_url:
            from credit.modules.portfolio.jobs import close_day as close_job
            from credit.modules.portfolio.schemas import CloseReport

            outcome = enqueue_and_follow(
                settings,
                close_job,
                CloseReport,
                show,
                worker_timeout,
                until=None if last is None else last.isoformat(),
                today=today.isoformat(),
            )
        else:
            outcome = run_here(settings, _close(last, today), show)
        status, report, error = asyncio.run(outcome)
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


def _close(until: date | None, today: date) -> Any:
    """The close's work for `run_here`."""

    async def work(alchemy: Any, progress: Any) -> CloseReport:
        from credit.modules.portfolio.jobs import run_close

        return await run_close(alchemy, until, today, progress)

    return work


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
        await refuse_behind_migrations(alchemy)
        async with provide_services(alchemy, PortfolioService) as (service,):
            latest = await service.latest_closed()
            day = as_of or latest
            found = None if day is None else await service.closed_day(day)
            if found is None or day is None:
                return None, latest
            return Portfolio.of(found, await service.day_summary(day)), latest
    finally:
        await alchemy.get_engine().dispose()
