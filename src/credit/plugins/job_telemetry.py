"""What a background job leaves behind: a `job started` and a `job finished` line, and metrics.

Both runners call the same two functions: the SAQ worker through `SAQ_HOOKS` (worker startup,
before and after each job), the in-process runner directly. A job is logged under the id the
API and `credit ingest` show (SAQ's job key, not its `saq:job:<queue>:<key>` id), and a failed
one with its message, the same words `GET /api/ingest/{job_id}` gives.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

from credit.plugins import metrics
from credit.settings import Settings

job_log = structlog.get_logger("credit.jobs")

# Jobs between `before_process` and `after_process` in this process (see the filter below).
_in_progress = 0


def job_started(function: str, job_id: str, *, attempt: int = 1) -> float:
    """Log the start of a job attempt; returns the start time to give `job_finished`."""
    job_log.info("job started", job=function, job_id=job_id, attempt=attempt)
    return time.perf_counter()


def job_counts(result: Any) -> dict[str, int]:
    """Whole-number fields of a job's result, one level deep (`{"loans": {"inserted": 3}}`
    gives `loans_inserted=3`): rows read, written and rejected, never the rows themselves."""
    if not isinstance(result, Mapping):
        return {}
    counts: dict[str, int] = {}
    for key, value in result.items():
        if isinstance(value, int) and not isinstance(value, bool):
            counts[str(key)] = value
        elif isinstance(value, Mapping):
            for inner, number in value.items():
                if isinstance(number, int) and not isinstance(number, bool):
                    counts[f"{key}_{inner}"] = number
        elif isinstance(value, list):
            counts[str(key)] = len(value)
    return counts


def job_finished(
    function: str,
    job_id: str,
    *,
    status: str,
    started: float,
    counts: Mapping[str, int] | None = None,
    error: str | None = None,
    error_type: str | None = None,
) -> None:
    """Log the end of a job attempt (status: complete, failed, retried, aborted) and count it.

    `error` is the failure's message as the job's status shows it, `error_type` the exception's
    class. Messages are ours (a workbook's problem, by sheet, row and column) and phone
    numbers inside any text are scrubbed by the log processors."""
    duration = time.perf_counter() - started
    metrics.observe_job(function, status, duration)
    log = job_log.info if status == "complete" else job_log.warning
    failure = {"error": error} if error else {}
    if error_type:
        failure["error_type"] = error_type
    log(
        "job finished",
        job=function,
        job_id=job_id,
        status=status,
        duration_ms=round(duration * 1000, 2),
        counts=dict(counts or {}),
        **failure,
    )


def job_error(exc: BaseException) -> str:
    """The message a failed job shows: the exception's own words, not a traceback."""
    return str(exc) or type(exc).__name__


# --- SAQ hooks: `QueueConfig(..., **SAQ_HOOKS)`; each receives SAQ's context dict. -------------

_STARTED_KEY = "credit_job_started"


async def saq_worker_startup(ctx: MutableMapping[str, Any]) -> None:
    metrics.start_worker_exporter(Settings.from_env().worker_metrics_port)


async def saq_before_process(ctx: MutableMapping[str, Any]) -> None:
    global _in_progress
    job = ctx.get("job")
    if job is None:
        return
    _in_progress += 1
    ctx[_STARTED_KEY] = job_started(job.function, job.key, attempt=job.attempts)


async def saq_after_process(ctx: MutableMapping[str, Any]) -> None:
    global _in_progress
    job = ctx.get("job")
    started = ctx.get(_STARTED_KEY)
    if job is None or started is None:
        return
    _in_progress -= 1
    status = getattr(job.status, "value", str(job.status))
    if status == "queued":  # SAQ put it back for another attempt
        status = "retried"
    exception = ctx.get("exception")
    # The job's own message (ingestion stores it in its meta) or the exception's words.
    message = None
    if exception is not None:
        message = (job.meta or {}).get("error") or job_error(exception)
    job_finished(
        job.function,
        job.key,
        status=status,
        started=started,
        counts=job_counts(job.result),
        error=message,
        error_type=type(exception).__name__ if exception is not None else None,
    )


SAQ_HOOKS: dict[str, list[Any]] = {
    "startup": [saq_worker_startup],
    "before_process": [saq_before_process],
    "after_process": [saq_after_process],
}


class IdleWorkerShutdownFilter(logging.Filter):
    """Drops SAQ's "Some tasks did not finish within the shutdown grace period" when no job runs.

    On SIGTERM SAQ 0.26 waits for all of its tasks, and those include its upkeep loops and the
    idle dequeue loops, which never finish on their own; with no grace period configured it
    gives up at once and warns, on every stop of an idle worker. The warning means something
    only when a job is running (it is then cancelled and retried, and `job finished` says
    `retried`), so it is kept in that case; every other SAQ record passes.
    """

    MESSAGE = "Some tasks did not finish within the shutdown grace period"

    def filter(self, record: logging.LogRecord) -> bool:
        return _in_progress > 0 or not str(record.msg).startswith(self.MESSAGE)
