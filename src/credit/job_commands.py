"""What the operators' job commands share (`credit payments import`, `credit close-day`).

Each runs one job of the queue: without `REDIS_URL` in the command's own process, with it
queued for a worker and followed until it ends. Either way it first refuses a database behind
its migrations (naming `credit database upgrade`), prints each stage as a line once it is
over under a bar of the rows done, and says so when no worker takes a queued job, which is
withdrawn after `--worker-timeout` seconds (the command then exits non-zero, nothing done).
`credit ingest`'s follower does the same with its own stages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from advanced_alchemy.config import SQLAlchemyAsyncConfig
    from rich.console import Console
    from rich.progress import Progress

    from credit.settings import Settings

T = TypeVar("T")
POLL_SECONDS = 0.2
NO_WORKER_NOTICE_SECONDS = 5.0
# A job's end as a command sees it: "complete" with its report, or "failed" with the reason.
Outcome = tuple[str, T | None, str | None]
Progressed = Callable[[str, int], Awaitable[None]]


class Stages:
    """The bar's one task; a line for each stage once it is over."""

    def __init__(self, console: Console, bar: Progress) -> None:
        self.console, self.bar = console, bar
        self.task = bar.add_task("queued", total=None, rows=0)
        self.stage, self.since = "queued", time.monotonic()

    def __call__(self, stage: str, rows_done: int) -> None:
        if stage != self.stage:
            took = time.monotonic() - self.since
            self.console.print(f"  {self.stage} ({took:.1f} s)", highlight=False)
            self.stage, self.since = stage, time.monotonic()
        self.bar.update(self.task, description=stage, rows=rows_done)


@contextmanager
def stages(console: Console, unit: str) -> Iterator[Stages]:
    """A bar counting `unit` (rows, loans) that goes away when the job ends."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn(f"{{task.fields[rows]:,}} {unit}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        yield Stages(console, bar)


async def refuse_behind_migrations(alchemy: SQLAlchemyAsyncConfig) -> None:
    """A database behind the migrations: the command stops here, naming the fix."""
    from credit.db.schema_state import schema_problem

    problem = await schema_problem(alchemy.get_engine())
    if problem:
        raise click.ClickException(problem)


async def run_here(
    settings: Settings,
    work: Callable[[SQLAlchemyAsyncConfig, Progressed], Awaitable[T]],
    show: Stages,
) -> Outcome[T]:
    """Without Redis: the job's work in this process, on an engine of its own."""
    from credit.db.database import sqlalchemy_config

    if settings.is_embedded:
        from credit.db.migrations import upgrade_database_async

        await upgrade_database_async(settings)  # a fresh clone has no database yet
    alchemy = sqlalchemy_config(settings)

    async def progress(stage: str, rows_done: int) -> None:
        show(stage, rows_done)

    try:
        await refuse_behind_migrations(alchemy)
        try:
            report = await work(alchemy, progress)
        except Exception as exc:  # the job's way: its own words, not a traceback
            reason = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
            return "failed", None, reason
    finally:
        await alchemy.get_engine().dispose()
    return "complete", report, None


async def enqueue_and_follow(
    settings: Settings,
    task: Callable[..., Awaitable[Any]],
    report: type[T],
    show: Stages,
    worker_timeout: float,
    **arguments: Any,
) -> Outcome[T]:
    """With Redis: queue `task` for a worker and follow it until it ends; withdrawn when no
    worker has taken it after `worker_timeout` seconds."""
    import msgspec

    from credit.db.database import sqlalchemy_config
    from credit.plugins.queue import JobQueuePlugin

    alchemy = sqlalchemy_config(settings)
    try:
        await refuse_behind_migrations(alchemy)
    finally:
        await alchemy.get_engine().dispose()
    jobs = JobQueuePlugin(settings)
    jobs.register(task)
    job_id = await jobs.runner.enqueue(task.__name__, **arguments)
    started, noticed = time.monotonic(), False
    while True:
        state = await jobs.runner.state(job_id)
        if state is None:
            return "failed", None, f"job {job_id} disappeared"
        if "stage" in state.meta:
            show(str(state.meta["stage"]), int(state.meta.get("rows_done", 0)))
        if state.finished:
            if state.status != "complete":
                return "failed", None, state.error
            return "complete", msgspec.convert(state.result, report, strict=False), None
        waited = time.monotonic() - started
        if state.status == "queued" and not noticed and waited >= NO_WORKER_NOTICE_SECONDS:
            noticed = True
            show.console.print(
                f"no worker has taken the job after {NO_WORKER_NOTICE_SECONDS:.0f} s: is a "
                "worker consuming this queue? Start one with `credit workers run` (same "
                "REDIS_URL).",
                highlight=False,
            )
        if (
            state.status == "queued"
            and waited >= worker_timeout
            and await jobs.runner.withdraw(job_id, "no worker took the job")
        ):
            return "failed", None, withdrawn(worker_timeout)
        await asyncio.sleep(POLL_SECONDS)


def withdrawn(worker_timeout: float) -> str:
    return (
        f"no worker took the job within {worker_timeout:.0f} s, so it was withdrawn and "
        "nothing was done: start `credit workers run` and run this again"
    )


def worker_timeout_option() -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--worker-timeout`, as `credit ingest` has it."""
    return click.option(
        "--worker-timeout",
        type=click.IntRange(min=1),
        default=60,
        show_default=True,
        help="With REDIS_URL: seconds to wait for a worker to take the job before withdrawing "
        "it (the command then exits non-zero).",
    )
