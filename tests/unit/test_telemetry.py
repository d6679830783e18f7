"""Job telemetry hooks, log filters and redaction, and the access line, without a queue."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import pytest
from prometheus_client import REGISTRY

from credit.plugins import job_telemetry
from credit.plugins.job_telemetry import (
    IdleWorkerShutdownFilter,
    job_counts,
    saq_after_process,
    saq_before_process,
)
from credit.plugins.logs import HeartbeatShutdownFilter, redact_personal_data, scrub_phone_numbers
from credit.plugins.request_log import AccessLog
from credit.settings import Settings


class FakeStatus(Enum):
    COMPLETE = "complete"
    QUEUED = "queued"
    FAILED = "failed"


@dataclass
class FakeJob:
    """SAQ's Job as the hooks read it: `key` is the id the API shows, `id` SAQ's Redis key."""

    function: str
    key: str
    status: FakeStatus = FakeStatus.COMPLETE
    attempts: int = 1
    result: Any = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"saq:job:credit:{self.key}"


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_saq_hooks_count_and_time_each_attempt() -> None:
    before_ok = _sample("credit_jobs_total", job="telemetry_probe", status="complete")
    before_retry = _sample("credit_jobs_total", job="telemetry_probe", status="retried")
    before_time = _sample("credit_job_duration_seconds_count", job="telemetry_probe")

    done = FakeJob("telemetry_probe", "j1", result={"customers": 3, "loans": 5, "ok": True})
    ctx: dict[str, Any] = {"job": done}
    await saq_before_process(ctx)
    await saq_after_process(ctx)

    retried = FakeJob("telemetry_probe", "j2", status=FakeStatus.QUEUED, attempts=1)
    ctx = {"job": retried, "exception": RuntimeError("boom")}
    await saq_before_process(ctx)
    await saq_after_process(ctx)

    assert _sample("credit_jobs_total", job="telemetry_probe", status="complete") == before_ok + 1
    assert _sample("credit_jobs_total", job="telemetry_probe", status="retried") == before_retry + 1
    assert _sample("credit_job_duration_seconds_count", job="telemetry_probe") == before_time + 2


class JobLog:
    """structlog's `credit.jobs` logger, replaced for one test: records each call."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.lines.append((event, {"level": "info", **fields}))

    def warning(self, event: str, **fields: Any) -> None:
        self.lines.append((event, {"level": "warning", **fields}))


@pytest.fixture
def job_log(monkeypatch: pytest.MonkeyPatch) -> JobLog:
    log = JobLog()
    monkeypatch.setattr(job_telemetry, "job_log", log)
    return log


async def test_worker_logs_the_job_id_the_api_shows(job_log: JobLog) -> None:
    job = FakeJob("ingest_book", "0b6e8a2c4d1f4e3a9c8b7a6f5e4d3c2b")
    ctx: dict[str, Any] = {"job": job}
    await saq_before_process(ctx)
    await saq_after_process(ctx)
    assert [fields["job_id"] for _, fields in job_log.lines] == [job.key, job.key]
    assert all("saq:job" not in str(fields) for _, fields in job_log.lines)


async def test_a_failed_job_logs_its_message_and_class(job_log: JobLog) -> None:
    class IngestError(Exception):
        pass

    message = "The customers workbook has no data rows."
    failed = FakeJob("ingest_book", "k1", status=FakeStatus.FAILED, meta={"error": message})
    ctx: dict[str, Any] = {"job": failed}
    await saq_before_process(ctx)
    ctx["exception"] = IngestError(message)
    await saq_after_process(ctx)
    event, fields = job_log.lines[-1]
    assert event == "job finished"
    assert fields["status"] == "failed"
    assert fields["error"] == message
    assert fields["error_type"] == "IngestError"
    assert fields["level"] == "warning"

    # Without a message in the job's meta, the exception's own words.
    other = FakeJob("ingest_book", "k2", status=FakeStatus.FAILED)
    ctx = {"job": other}
    await saq_before_process(ctx)
    ctx["exception"] = RuntimeError("the uploads directory is gone")
    await saq_after_process(ctx)
    assert job_log.lines[-1][1]["error"] == "the uploads directory is gone"
    assert job_log.lines[-1][1]["error_type"] == "RuntimeError"


async def test_an_idle_worker_stops_without_the_unfinished_tasks_warning() -> None:
    def saq_record(message: str) -> logging.LogRecord:
        return logging.LogRecord("saq", logging.WARNING, __file__, 1, message, None, None)

    warning = saq_record(
        "Some tasks did not finish within the shutdown grace period, requesting cancellation"
    )
    keep = IdleWorkerShutdownFilter().filter
    assert not keep(warning)  # nothing runs: the idle loops are cancelled, as they must be
    assert keep(saq_record("Some tasks did not finish cancellation in time, they may be stuck"))
    assert keep(saq_record("Worker starting: ..."))

    ctx: dict[str, Any] = {"job": FakeJob("ingest_book", "k3")}
    await saq_before_process(ctx)
    try:
        assert keep(warning)  # a job is being cancelled: that is worth a line
    finally:
        await saq_after_process(ctx)
    assert not keep(warning)


def test_job_counts_keep_numbers_and_list_sizes_never_rows() -> None:
    result = {
        "customers": {"rows": 300, "inserted": 300, "stage": "done"},
        "loans": {"rows": 782, "rejected": 0},
        "rejected": [{"row": 2, "reason": "x"}],
        "done": True,
        "rate": 1.5,
        "total": 9,
    }
    assert job_counts(result) == {
        "customers_rows": 300,
        "customers_inserted": 300,
        "loans_rows": 782,
        "loans_rejected": 0,
        "rejected": 1,
        "total": 9,
    }
    assert job_counts(None) == {}
    assert job_counts([1, 2]) == {}


def test_personal_data_never_reaches_a_log_line() -> None:
    event = {"event": "x", "phone_number": 9876543210, "monthly_income": 50000, "id": 7}
    assert redact_personal_data(None, "info", event) == {
        "event": "x",
        "phone_number": "[redacted]",
        "monthly_income": "[redacted]",
        "id": 7,
    }


def test_only_the_known_heartbeat_shutdown_artifact_is_filtered() -> None:
    def record(message: str, exc: BaseException | None) -> logging.LogRecord:
        return logging.LogRecord(
            "litestar_saq.heartbeat",
            logging.ERROR,
            __file__,
            1,
            message,
            None,
            (type(exc), exc, None) if exc else None,
        )

    keep = HeartbeatShutdownFilter().filter
    artifact = RuntimeError("Event loop stopped before Future completed.")
    assert not keep(record("HeartbeatManager thread crashed", artifact))
    assert keep(record("HeartbeatManager thread crashed", ConnectionError("redis down")))
    assert keep(record("something else", artifact))


def test_phone_numbers_inside_error_text_are_scrubbed() -> None:
    event = {
        "event": "job failed",
        "exception": 'DETAIL:  Key (phone_number)=(9876543210) already exists.\n"id": 12',
        "job_id": "saq:job:credit:1795720153573",  # 13 digits: not a phone number
        "count": 9876543210,  # numbers stay numbers; keys carry the meaning
    }
    scrubbed = scrub_phone_numbers(None, "error", dict(event))
    assert "9876543210" not in scrubbed["exception"]
    assert "[phone]" in scrubbed["exception"]
    assert scrubbed["job_id"] == event["job_id"]
    assert scrubbed["count"] == event["count"]


class CountingStream:
    """A stdout that records each write(): unbuffered, as PYTHONUNBUFFERED makes it."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)

    def flush(self) -> None:
        return None


def json_access_log(
    monkeypatch: pytest.MonkeyPatch, level: str
) -> tuple[AccessLog, CountingStream]:
    stream = CountingStream()
    monkeypatch.setattr(sys, "stdout", stream)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # JSON lines, as in production
    return AccessLog(Settings(log_level=level)), stream


def test_the_access_log_writes_each_line_in_one_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # Unbuffered, every write() is a system call; print() would make two per line.
    log, stream = json_access_log(monkeypatch, "INFO")
    log.request(
        logging.INFO, "GET", "/api/view-loan/1", "/api/view-loan/{loan_id:int}", 200, 1.5, "r1"
    )
    (line,) = stream.writes
    assert line.endswith("}\n")
    assert json.loads(line)["event"] == "request"


def test_the_access_line_is_the_one_structlog_rendered(monkeypatch: pytest.MonkeyPatch) -> None:
    log, stream = json_access_log(monkeypatch, "INFO")
    log.request(logging.INFO, "POST", "/api/register", "/api/register", 201, 4.25, "abc-1")
    fields = json.loads(stream.writes[0])
    timestamp = fields.pop("timestamp")
    # The keys in structlog's order (the call's, then level and timestamp from its processors).
    assert fields == {
        "method": "POST",
        "path": "/api/register",
        "route": "/api/register",
        "status": 201,
        "duration_ms": 4.25,
        "request_id": "abc-1",
        "event": "request",
        "level": "info",
    }
    assert list(json.loads(stream.writes[0]))[-1] == "timestamp"
    # ISO 8601 in UTC with a Z, as structlog's TimeStamper(fmt="iso", utc=True) writes it.
    assert timestamp.endswith("Z")
    stamped = datetime.fromisoformat(timestamp)
    assert stamped.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - stamped) < timedelta(minutes=1)


def test_the_access_log_honours_the_log_level(monkeypatch: pytest.MonkeyPatch) -> None:
    log, stream = json_access_log(monkeypatch, "INFO")
    log.request(logging.DEBUG, "GET", "/health", "/health", 200, 0.1, "probe")  # probes: debug
    assert stream.writes == []
    quiet, quiet_stream = json_access_log(monkeypatch, "WARNING")
    quiet.request(
        logging.INFO, "GET", "/api/view-loan/1", "/api/view-loan/{loan_id:int}", 200, 1, "r"
    )
    assert quiet_stream.writes == []
    chatty, chatty_stream = json_access_log(monkeypatch, "DEBUG")
    chatty.request(logging.DEBUG, "GET", "/health", "/health", 200, 0.1, "probe")
    assert json.loads(chatty_stream.writes[0])["level"] == "debug"
