"""Background jobs behind one small interface, on SAQ + Redis or in-process.

A job is a plain SAQ job function, `async def job(ctx, **kwargs)`, registered by its module's
plugin through `JobQueuePlugin.register`. Code that starts or watches jobs only sees
`JobRunner`: `enqueue(name, **kwargs) -> job id` and `state(job_id) -> JobState`.

- With `REDIS_URL` set, jobs go to the SAQ queue `settings.queue_name` and run in the worker
  process (`credit workers run`, litestar-saq's CLI); the web process only enqueues and reads.
- Without it (the embedded default), the same functions run as asyncio tasks of the current
  process, so neither Redis nor a worker is needed.

A job reports progress with `await report_progress(ctx, stage=..., rows_done=...)`; both
runners keep it in the job's `meta`, next to the job's status and result.

One room although it is long: the two runners must keep one behaviour (states, progress,
failures, telemetry), and the plugin that picks between them is their only user. Every job's
HTTP status is `job_status.py`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    Protocol,
    cast,
    runtime_checkable,
)
from zoneinfo import ZoneInfo

import click
import msgspec
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import CLIPluginProtocol, InitPluginProtocol
from litestar.plugins.base import PluginProtocol
from litestar_saq import QueueConfig, SAQConfig, SAQPlugin
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from saq.job import CronJob

from credit.plugins.job_telemetry import (
    SAQ_HOOKS,
    job_counts,
    job_finished,
    job_started,
)
from credit.plugins.job_telemetry import (
    job_error as job_error,  # re-exported: jobs report failures with it
)
from credit.settings import Settings

if TYPE_CHECKING:
    from saq.queue.base import Queue
    from saq.types import Context, ReceivesContext

logger = logging.getLogger(__name__)
JobFunction = Callable[..., Awaitable[Any]]
Status = Literal["queued", "active", "complete", "failed"]
# Results are kept a week for `GET /api/ingest/{id}`. A job is tried once (SAQ's `retries`
# counts attempts): a failure is the job's answer (a bad file stays bad), and a job whose
# worker died or that ran past its timeout is failed by the sweep with this message.
JOB_TTL_SECONDS = 7 * 24 * 3600
JOB_ATTEMPTS = 1
SWEPT = (
    "The worker running this job stopped before it finished (its heartbeat stopped, or it "
    "ran past its timeout); nothing of it was kept. Run it again."
)
# "aborting" is not an end yet: SAQ's sweep marks a stuck job so, waits for its worker to
# stop it, and only then fails it ("aborted") or puts it back on the queue.
FAILED_STATUSES = {"failed", "aborted"}
KEEP_FINISHED_JOBS = 100


@dataclass
class JobState:
    job_id: str
    status: Status
    meta: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("complete", "failed")


@runtime_checkable  # Litestar checks injected dependencies against their annotation
class JobRunner(Protocol):
    async def enqueue(self, name: str, **kwargs: Any) -> str: ...

    async def state(self, job_id: str) -> JobState | None: ...

    async def withdraw(self, job_id: str, reason: str) -> bool: ...


_RESULT_ENCODER = msgspec.json.Encoder(decimal_format="number")


def job_result(report: Any) -> Any:
    """A job's report as plain data for the queue, its amounts as JSON numbers (as every
    answer of the API writes money), not as the strings `msgspec.to_builtins` makes them."""
    return msgspec.json.decode(_RESULT_ENCODER.encode(report))


async def report_progress(ctx: dict[str, Any], **meta: Any) -> None:
    """Publish a job's progress (kept in its `meta`) from inside the job function."""
    await ctx["job"].update(meta={**ctx["job"].meta, **meta})


# --- in-process ---------------------------------------------------------------------------------


@dataclass
class _LocalJob:
    """What a job function sees as `ctx["job"]` in-process: SAQ's `meta` and `update`."""

    key: str
    status: Status = "queued"
    meta: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    error: str | None = None

    async def update(self, **kwargs: Any) -> None:
        for name, value in kwargs.items():
            setattr(self, name, value)


class InProcessRunner:
    def __init__(self, context: dict[str, Any], functions: dict[str, JobFunction]) -> None:
        self.context = context
        self.functions = functions
        self._jobs: dict[str, _LocalJob] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def enqueue(self, name: str, **kwargs: Any) -> str:
        function = self.functions[name]
        job = _LocalJob(key=uuid.uuid4().hex)
        self._forget_old_jobs()
        self._jobs[job.key] = job
        task = asyncio.create_task(self._run(name, job, function, kwargs))
        self._tasks.add(task)  # keep a reference until done, as asyncio requires
        task.add_done_callback(self._tasks.discard)
        return job.key

    def _forget_old_jobs(self) -> None:
        # A long-running web process keeps the latest finished jobs' reports, not all of them.
        finished = [key for key, job in self._jobs.items() if job.status in ("complete", "failed")]
        for key in finished[: max(0, len(finished) - KEEP_FINISHED_JOBS)]:
            del self._jobs[key]

    async def state(self, job_id: str) -> JobState | None:
        job = self._jobs.get(job_id)
        if job is None:
            return None
        return JobState(job.key, job.status, dict(job.meta), job.result, job.error)

    async def withdraw(self, job_id: str, reason: str) -> bool:
        """In-process jobs start at once: there is never one waiting to withdraw."""
        return False

    async def _run(
        self, name: str, job: _LocalJob, function: JobFunction, kwargs: dict[str, Any]
    ) -> None:
        job.status = "active"
        started = job_started(name, job.key)
        failure: Exception | None = None
        try:
            job.result = await function({**self.context, "job": job}, **kwargs)
            job.status = "complete"
        except Exception as exc:
            failure = exc
            job.error = job.meta.get("error") or job_error(exc)
            job.status = "failed"
            logger.debug("job %s traceback", job.key, exc_info=exc)
        job_finished(
            name,
            job.key,
            status=job.status,
            started=started,
            counts=job_counts(job.result),
            error=job.error,
            error_type=type(failure).__name__ if failure is not None else None,
        )


# --- SAQ on Redis --------------------------------------------------------------------------------


class JobQueueUnavailable(click.ClickException):
    """Redis, the job queue, cannot be reached.

    A `ClickException`, so `credit ingest` prints just this message and exits 1; the errors
    plugin answers it with 503 on HTTP. The URL is not repeated: it may carry a password.
    """

    def __init__(self) -> None:
        super().__init__(
            "The job queue (Redis at REDIS_URL) is unreachable; start Redis, or unset "
            "REDIS_URL to run jobs in-process."
        )


@asynccontextmanager
async def _queue_reachable() -> AsyncIterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise JobQueueUnavailable() from exc


class SaqRunner:
    def __init__(self, saq_config: SAQConfig, settings: Settings) -> None:
        self.saq_config = saq_config
        self.settings = settings
        self.queue_name = settings.queue_name
        self._connected = False

    async def queue(self) -> Queue:
        queue = self.saq_config.get_queues().get(self.queue_name)
        if not self._connected:
            await queue.connect()
            self._connected = True
        return queue

    async def enqueue(self, name: str, **kwargs: Any) -> str:
        async with _queue_reachable():
            queue = await self.queue()
            job = await queue.enqueue(
                name,
                timeout=self.settings.job_timeout_seconds,
                heartbeat=self.settings.job_heartbeat_seconds,
                ttl=JOB_TTL_SECONDS,
                retries=JOB_ATTEMPTS,
                **kwargs,
            )
        if job is None:  # pragma: no cover - only for caller-chosen duplicate keys
            raise RuntimeError("the job was already queued")
        return job.key

    async def state(self, job_id: str) -> JobState | None:
        async with _queue_reachable():
            job = await (await self.queue()).job(job_id)
        if job is None:
            return None
        raw = job.status.value
        status: Status = (
            "failed"
            if raw in FAILED_STATUSES
            else "complete"
            if raw == "complete"
            else "active"
            if raw in ("active", "aborting")
            else "queued"
        )
        error = (job.meta.get("error") or _last_line(job.error)) if status == "failed" else None
        return JobState(job.key, status, dict(job.meta), job.result, error)

    async def withdraw(self, job_id: str, reason: str) -> bool:
        """Take a job nobody has started off the queue and delete it; False when a worker
        has taken it meanwhile (it then runs to its end)."""
        async with _queue_reachable():
            queue = await self.queue()
            job = await queue.job(job_id)
            if job is None or job.status.value not in ("new", "queued", "deferred"):
                return False
            await queue.abort(job, reason)
            job = await queue.job(job_id)
            if job is not None and job.status.value == "aborting":
                return False  # a worker took it between the two reads: it stops it
            await queue.redis.delete(queue.job_id(job_id))  # type: ignore[attr-defined]
        return True


def _last_line(text: str | None) -> str | None:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def with_heartbeat(function: JobFunction) -> JobFunction:
    """The job function, touching its job while it runs (a third of its `heartbeat` apart).

    SAQ's sweep takes an active job whose heartbeat stopped for one whose worker died, and
    fails it (`SWEPT`): no job stays `active` forever. The beat stops before the function
    returns, so it never writes over the result.
    """

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], **kwargs: Any) -> Any:
        job = ctx["job"]
        every = (getattr(job, "heartbeat", 0) or 0) / 3
        if every <= 0:
            return await function(ctx, **kwargs)

        async def beat() -> None:
            while True:
                await asyncio.sleep(every)
                with contextlib.suppress(Exception):  # a missed beat is not the job's failure
                    await job.update()

        beating = asyncio.create_task(beat())
        try:
            return await function(ctx, **kwargs)
        finally:
            beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beating

    return run


# --- the plugin --------------------------------------------------------------------------------


class JobQueuePlugin(InitPluginProtocol, CLIPluginProtocol):
    """Owns the job runner; with Redis, also the SAQ plugin that runs `credit workers`."""

    def __init__(self, settings: Settings, **context: Any) -> None:
        """`context` goes into every job's `ctx` with the settings (the database config)."""
        self.settings = settings
        self.context = {"settings": settings, **context}
        self.functions: dict[str, JobFunction] = {}
        self.saq: SAQPlugin | None = None
        self.runner: JobRunner
        if settings.redis_url:
            queue_config = QueueConfig(
                dsn=settings.redis_url,
                name=settings.queue_name,
                concurrency=settings.worker_concurrency,
                startup=[
                    cast("ReceivesContext[Context]", self._on_worker_start),
                    *SAQ_HOOKS["startup"],
                ],
                before_process=SAQ_HOOKS["before_process"],
                after_process=SAQ_HOOKS["after_process"],
                broker_options={"swept_error_message": SWEPT},
                scheduled_tasks=[],
                cron_tz=ZoneInfo(settings.timezone),
            )
            saq_config = SAQConfig(queue_configs=[queue_config])
            self.saq = SAQPlugin(saq_config)
            self._queue_config = queue_config
            self.runner = SaqRunner(saq_config, settings)
        else:
            self.runner = InProcessRunner(self.context, self.functions)

    def register(self, function: JobFunction) -> None:
        """Make a job function runnable by name (call before the app is built)."""
        self.functions[function.__name__] = function
        if self.saq is not None:
            tasks = self._queue_config.tasks
            assert isinstance(tasks, list)
            tasks.append(with_heartbeat(function))

    def schedule(self, function: JobFunction, cron: str, timezone: str) -> None:
        """Run a job function on a cron schedule (`cron` in the queue's time zone, the
        lender's), with Redis only: without a worker nothing runs on a schedule."""
        if self.saq is None:
            return
        scheduled = self._queue_config.scheduled_tasks
        assert isinstance(scheduled, list)
        scheduled.append(
            CronJob(
                with_heartbeat(function),
                cron=cron,
                timeout=self.settings.job_timeout_seconds,
                heartbeat=self.settings.job_heartbeat_seconds,
                retries=JOB_ATTEMPTS,
                ttl=JOB_TTL_SECONDS,
            )
        )

    def worker_plugins(self) -> list[PluginProtocol]:
        """SAQ's plugin when jobs run on Redis: list it after the modules that register jobs."""
        return [] if self.saq is None else [self.saq]

    @classmethod
    def of(cls, app_config: AppConfig) -> JobQueuePlugin:
        for plugin in app_config.plugins:
            if isinstance(plugin, cls):
                return plugin
        raise RuntimeError("JobQueuePlugin must be listed before the plugins that add jobs")

    async def _on_worker_start(self, ctx: dict[str, Any]) -> None:
        from credit.plugins.logs import mark_worker_process

        mark_worker_process()
        ctx.update(self.context)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        from credit.plugins.job_status import JobController  # it reads this module's types

        app_config.route_handlers.append(JobController)
        app_config.state["job_runner"] = self.runner
        app_config.dependencies["job_runner"] = Provide(lambda: self.runner, sync_to_thread=False)
        app_config.signature_types = [*app_config.signature_types, JobState]
        return app_config

    def on_cli_init(self, cli: click.Group) -> None:
        if self.saq is not None:
            return  # SAQPlugin adds the real `workers` group

        @cli.group(name="workers")
        def workers() -> None:
            """Background workers (need REDIS_URL; without it jobs run in-process)."""

        @workers.command(name="run")
        def run() -> None:
            """Run the SAQ worker: only with REDIS_URL set."""
            raise click.ClickException(
                "REDIS_URL is not set: jobs run in-process in `credit run` and `credit ingest`."
            )
