"""Structured logs, request ids and request/job metrics for every process of the service.

Logs are JSON lines on stdout (a terminal gets structlog's console renderer instead), from
structlog and from the standard library alike (uvicorn, SAQ, SQLAlchemy, our own loggers), so a
container's output is one stream of JSON objects.

Every HTTP request gets exactly one `request` line with method, path, route template, status,
duration and request id. The id is the caller's `X-Request-ID` when it is a sane token, a new
one otherwise; it is echoed in the response's `X-Request-ID` header and bound to every line
logged while the request runs. Bodies, headers and query strings are never logged: they carry
phone numbers and incomes. `redact_personal_data` is a last line of defence for keys that must
never reach a log.

The request wrapper sits outside Litestar's router (it wraps the app's ASGI handler at
startup), so 404s for unknown paths and 405s are logged and counted too; route-level
middleware never sees those.

Jobs: `job_started` / `job_finished` log one line each and feed the job metrics. The SAQ
queue wires them through `SAQ_HOOKS` (worker startup, before and after each job); the
in-process runner calls them directly.
"""

from __future__ import annotations

import logging
import random
import re
import sys
import time
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.logging.config import LoggingConfig, StructLoggingConfig
from litestar.plugins import InitPluginProtocol
from litestar.plugins.structlog import StructlogConfig, StructlogPlugin
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from credit.plugins import metrics
from credit.plugins.health import HealthController, close_redis_client
from credit.settings import Settings

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Probes arrive every few seconds from compose and Prometheus: logged at debug unless failing.
PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})
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

job_log = structlog.get_logger("credit.jobs")


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in SENSITIVE_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
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


# An Indian mobile number as it shows up inside free text: a database error's DETAIL, a
# job's error message, a traceback. Key-based redaction cannot see those.
_PHONE_IN_TEXT = re.compile(r"(?<!\d)[6-9]\d{9}(?!\d)")


def scrub_phone_numbers(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if isinstance(value, str) and _PHONE_IN_TEXT.search(value):
            event_dict[key] = _PHONE_IN_TEXT.sub("[phone]", value)
    return event_dict


def json_line(event_dict: Any, **_: Any) -> str:
    """structlog's JSON serializer, with msgspec: a log line per request is on every request's
    path, and the standard library's encoder was a measurable share of it."""
    return msgspec.json.encode(event_dict, enc_hook=str).decode()


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_personal_data,
    ]


def _level_name(settings: Settings) -> str:
    known = logging.getLevelNamesMapping()
    return settings.log_level if settings.log_level in known else "INFO"


def _renders_json() -> bool:
    return not sys.stderr.isatty()


def _renderer() -> Any:
    if _renders_json():
        return structlog.processors.JSONRenderer(serializer=json_line)
    return structlog.dev.ConsoleRenderer(colors=True)


class AccessLine(msgspec.Struct):
    """The access log's line; field order is the line's key order."""

    method: str
    path: str
    route: str
    status: int
    duration_ms: float
    request_id: str
    event: str
    level: str
    timestamp: datetime  # UTC: msgspec writes it as structlog's ISO stamper does ("...Z")


class AccessLog:
    """The one `request` line per request, encoded straight from a struct.

    It runs on every request, and through structlog (bound logger, processor chain, time
    stamper, renderer) it was 8 % of a check-eligibility request's CPU (docs/benchmarks.md).
    The JSON line is the one structlog's renderer wrote: same keys, `level`, UTC `timestamp`.
    On a terminal it goes through structlog's console renderer, like every other line. Its
    fields are fixed and carry no personal data; the caller scrubs the path of phone numbers."""

    def __init__(self, settings: Settings) -> None:
        self.threshold = logging.getLevelNamesMapping()[_level_name(settings)]
        # WriteLogger-style: one write() per line (with PYTHONUNBUFFERED, set in the
        # Dockerfile, print() makes two, the text and the newline).
        self._stream = sys.stdout
        self._encode = msgspec.json.Encoder().encode
        self._console = (
            None
            if _renders_json()
            else structlog.wrap_logger(
                structlog.WriteLogger(self._stream),
                processors=[
                    structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    _renderer(),
                ],
                wrapper_class=structlog.make_filtering_bound_logger(self.threshold),
            ).bind()
        )

    def request(
        self,
        level: int,
        method: str,
        path: str,
        route: str,
        status: int,
        duration_ms: float,
        request_id: str,
    ) -> None:
        if level < self.threshold:
            return
        if self._console is not None:
            self._console.log(
                level,
                "request",
                method=method,
                path=path,
                route=route,
                status=status,
                duration_ms=duration_ms,
                request_id=request_id,
            )
            return
        name = logging.getLevelName(level).lower()
        line = AccessLine(
            method, path, route, status, duration_ms, request_id, "request", name, datetime.now(UTC)
        )
        self._stream.write(self._encode(line).decode() + "\n")
        self._stream.flush()


def logging_plugin(settings: Settings) -> StructlogPlugin:
    """Litestar's structlog plugin, configured for one JSON stream (request logging is ours)."""
    level_name = _level_name(settings)
    level = logging.getLevelNamesMapping()[level_name]
    as_json = _renders_json()
    renderer = _renderer()
    stdlib = LoggingConfig(
        formatters={
            "standard": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": [structlog.stdlib.add_logger_name, *_shared_processors()],
                "processors": [
                    structlog.stdlib.ExtraAdder(),
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    scrub_phone_numbers,
                    renderer,
                ],
            }
        },
        filters={"heartbeat_shutdown": {"()": HeartbeatShutdownFilter}},
        handlers={
            "console": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "standard",
            }
        },
        root={"handlers": ["console"], "level": level_name},
        loggers={
            "litestar": {"level": level_name, "handlers": [], "propagate": True},
            "uvicorn": {"level": level_name, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level_name, "handlers": [], "propagate": True},
            # One `request` line per request is ours; uvicorn's would duplicate it.
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
            "litestar_saq.heartbeat": {"filters": ["heartbeat_shutdown"], "propagate": True},
        },
        log_exceptions="never",
    )
    struct = StructLoggingConfig(
        processors=[
            *_shared_processors(),
            structlog.processors.format_exc_info,
            scrub_phone_numbers,
            renderer,
        ],
        logger_factory=structlog.WriteLoggerFactory(sys.stdout),  # see AccessLog
        wrapper_class=structlog.make_filtering_bound_logger(level),
        standard_lib_logging_config=stdlib,
        # Errors are logged once, by the errors plugin, without request data.
        log_exceptions="never",
        pretty_print_tty=not as_json,
    )
    return StructlogPlugin(
        StructlogConfig(structlog_logging_config=struct, enable_middleware_logging=False)
    )


def request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_BYTES:
            candidate = value.decode("latin-1").strip()
            if _SANE_REQUEST_ID.match(candidate):
                return candidate
            break
    # 128 random bits, as a uuid4 carries. An id correlates log lines and is no secret, so
    # the process's PRNG (seeded from the OS in each process, again after a fork) serves;
    # os.urandom was a system call on every request.
    return f"{random.getrandbits(128):032x}"


class RequestTelemetry:
    """ASGI wrapper: request id, one access-log line and the HTTP metrics per request."""

    def __init__(self, app: ASGIApp, log: AccessLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        id_bytes = request_id.encode()
        status = 500
        started = time.perf_counter()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_BYTES, id_bytes)]
            await send(message)

        # Every line logged while the request runs carries its id (bound_contextvars without
        # the context manager's own cost).
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)
            duration = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            method = str(scope.get("method", "GET"))
            metrics.observe_request(method, route, status, duration)
            path = scope.get("path", "")
            self.log.request(
                logging.DEBUG if path in PROBE_PATHS and status < 400 else logging.INFO,
                method,
                _PHONE_IN_TEXT.sub("[phone]", path),
                route,
                status,
                round(duration * 1000, 2),
                request_id,
            )


class TelemetryPlugin(InitPluginProtocol):
    """Request telemetry, `/health`, `/ready` and `/metrics`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def wrap(self, app: Litestar) -> None:
        if not isinstance(app.asgi_handler, RequestTelemetry):
            app.asgi_handler = RequestTelemetry(app.asgi_handler, AccessLog(self.settings))

    @staticmethod
    async def close(app: Litestar) -> None:
        await close_redis_client(app.state)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        metrics.ensure_multiprocess_dir()
        app_config.route_handlers.extend([HealthController, metrics.metrics])
        app_config.on_startup.append(self.wrap)
        app_config.on_shutdown.append(self.close)
        if app_config.openapi_config is not None:
            from litestar.openapi.spec import Tag

            app_config.openapi_config.tags = [
                *(app_config.openapi_config.tags or []),
                Tag(
                    name="Operations",
                    description="Probes and metrics for operators; not part of the `/api` "
                    "contract.",
                ),
            ]
        return app_config


# --- jobs -----------------------------------------------------------------------------------


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
) -> None:
    """Log the end of a job attempt (status: complete, failed, retried, aborted) and count it."""
    duration = time.perf_counter() - started
    metrics.observe_job(function, status, duration)
    log = job_log.info if status == "complete" else job_log.warning
    log(
        "job finished",
        job=function,
        job_id=job_id,
        status=status,
        duration_ms=round(duration * 1000, 2),
        counts=dict(counts or {}),
        **({"error": error} if error else {}),
    )


# SAQ hooks: `QueueConfig(..., **SAQ_HOOKS)`; each receives SAQ's context dict.

_STARTED_KEY = "credit_job_started"


async def saq_worker_startup(ctx: MutableMapping[str, Any]) -> None:
    metrics.start_worker_exporter(Settings.from_env().worker_metrics_port)


async def saq_before_process(ctx: MutableMapping[str, Any]) -> None:
    job = ctx.get("job")
    if job is None:
        return
    ctx[_STARTED_KEY] = job_started(job.function, job.id, attempt=job.attempts)


async def saq_after_process(ctx: MutableMapping[str, Any]) -> None:
    job = ctx.get("job")
    started = ctx.get(_STARTED_KEY)
    if job is None or started is None:
        return
    status = getattr(job.status, "value", str(job.status))
    if status == "queued":  # SAQ put it back for another attempt
        status = "retried"
    exception = ctx.get("exception")
    job_finished(
        job.function,
        job.id,
        status=status,
        started=started,
        counts=job_counts(job.result),
        error=type(exception).__name__ if exception is not None else None,
    )


SAQ_HOOKS: dict[str, list[Any]] = {
    "startup": [saq_worker_startup],
    "before_process": [saq_before_process],
    "after_process": [saq_after_process],
}
