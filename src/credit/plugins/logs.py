"""Structured logs for every process: one stream of JSON lines on stdout, no personal data.

structlog and the standard library (uvicorn, SAQ, SQLAlchemy, our own loggers) go through the
same processors, so a container's output is one stream of JSON objects (a terminal gets
structlog's console renderer instead). Phone numbers and incomes are removed by key and, inside
free text such as a database error, by pattern. The job worker's fields (litestar-saq binds
`worker_id` and the like into every line of the process that holds its plugin) appear only in
a process that runs a worker, and uvicorn's `color_message` (its message again, with escape
codes for a terminal) never.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import msgspec
import structlog
from litestar.logging.config import LoggingConfig, StructLoggingConfig
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin

from credit.plugins.job_telemetry import IdleWorkerShutdownFilter
from credit.settings import Settings

SENSITIVE_KEYS = frozenset(
    {
        "phone_number",
        "phone",
        "monthly_income",
        "monthly_salary",
        "income",
        "salary",
        "body",
        "authorization",
        "x-api-key",
    }
)
# An Indian mobile number as it shows up inside free text: a database error's DETAIL, a
# job's error message, a traceback. Key-based redaction cannot see those.
PHONE_IN_TEXT = re.compile(r"(?<!\d)[6-9]\d{9}(?!\d)")


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in SENSITIVE_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


# What litestar-saq binds for its workers (`Worker.get_structlog_context`).
WORKER_FIELDS = ("worker_id", "queue_name", "concurrency", "separate_process")


class _ThisProcess:
    runs_worker = False


def mark_worker_process() -> None:
    """A SAQ worker started in this process: its log lines keep the worker's fields."""
    _ThisProcess.runs_worker = True


def drop_worker_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if not _ThisProcess.runs_worker:
        for key in [k for k in event_dict if k in WORKER_FIELDS or k.startswith("worker_meta_")]:
            del event_dict[key]
    return event_dict


def drop_color_message(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """uvicorn passes its message again as `color_message` (with escape codes) in `extra`."""
    event_dict.pop("color_message", None)
    return event_dict


def scrub_phone_numbers(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str) and PHONE_IN_TEXT.search(value):
            event_dict[key] = PHONE_IN_TEXT.sub("[phone]", value)
    return event_dict


class HeartbeatShutdownFilter(logging.Filter):
    """Drops litestar-saq 0.8's false "HeartbeatManager thread crashed" on a normal shutdown.

    Its `HeartbeatManager.stop()` stops the thread's event loop under `run_until_complete`,
    which raises "Event loop stopped before Future completed." and is logged as a crash with a
    traceback every time a web process exits (litestar-org/litestar-saq#110, fixed by #111).
    Only that exact record is dropped; any other heartbeat failure is still logged.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (
            record.getMessage() == "HeartbeatManager thread crashed"
            and isinstance(exc, RuntimeError)
            and str(exc) == "Event loop stopped before Future completed."
        )


def json_line(event_dict: Any, **_: Any) -> str:
    """structlog's JSON serializer, with msgspec (faster than the standard library's)."""
    return msgspec.json.encode(event_dict, enc_hook=str).decode()


def level_name(settings: Settings) -> str:
    known = logging.getLevelNamesMapping()
    return settings.log_level if settings.log_level in known else "INFO"


def renders_json() -> bool:
    return not sys.stderr.isatty()


def renderer() -> Any:
    if renders_json():
        return structlog.processors.JSONRenderer(serializer=json_line)
    return structlog.dev.ConsoleRenderer(colors=True)


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        drop_worker_fields,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal_data,
    ]


def logging_plugin(settings: Settings) -> StructlogPlugin:
    """Litestar's structlog plugin, configured for one JSON stream (request logging is ours,
    `credit.plugins.request_log`)."""
    name = level_name(settings)
    level = logging.getLevelNamesMapping()[name]
    as_json = renders_json()
    render = renderer()
    stdlib = LoggingConfig(
        formatters={
            "standard": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": [structlog.stdlib.add_logger_name, *_shared_processors()],
                "processors": [
                    structlog.stdlib.ExtraAdder(),
                    drop_color_message,
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    scrub_phone_numbers,
                    render,
                ],
            }
        },
        filters={
            "heartbeat_shutdown": {"()": HeartbeatShutdownFilter},
            "idle_worker_shutdown": {"()": IdleWorkerShutdownFilter},
        },
        handlers={
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "standard",
            }
        },
        root={"handlers": ["console"], "level": name},
        loggers={
            "litestar": {"level": name, "handlers": [], "propagate": True},
            "uvicorn": {"level": name, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": name, "handlers": [], "propagate": True},
            # One `request` line per request is ours; uvicorn's would duplicate it.
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            "litestar_saq.heartbeat": {"filters": ["heartbeat_shutdown"], "propagate": True},
            "saq": {"filters": ["idle_worker_shutdown"], "propagate": True},
        },
        log_exceptions="never",
    )
    struct = StructLoggingConfig(
        processors=[
            *_shared_processors(),
            structlog.processors.format_exc_info,
            scrub_phone_numbers,
            render,
        ],
        # One write() per line (see credit.plugins.request_log.AccessLog).
        logger_factory=structlog.WriteLoggerFactory(sys.stdout),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        standard_lib_logging_config=stdlib,
        # Errors are logged once, by the errors plugin, without request data.
        log_exceptions="never",
        pretty_print_tty=not as_json,
    )
    return StructlogPlugin(
        StructlogConfig(structlog_logging_config=struct, enable_middleware_logging=False)
    )
