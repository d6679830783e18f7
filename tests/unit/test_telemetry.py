"""Job telemetry hooks and log redaction, without a queue."""

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

from credit.plugins.telemetry import (
    AccessLog,
    HeartbeatShutdownFilter,
    job_counts,
    redact_personal_data,
    saq_after_process,
    saq_before_process,
    scrub_phone_numbers,
)
from credit.settings import Settings


class FakeStatus(Enum):
    COMPLETE = "complete"
    QUEUED = "queued"


@dataclass
class FakeJob:
    function: str
    id: str
    status: FakeStatus = FakeStatus.COMPLETE
    attempts: int = 1
    result: Any = field(default_factory=dict)


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
