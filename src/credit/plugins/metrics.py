"""Prometheus metrics: HTTP requests by route template, and background jobs.

HTTP requests are counted by Litestar's Prometheus plugin (`litestar.plugins.prometheus`),
labelled by route template so ids never multiply the series. With several uvicorn processes
production sets `PROMETHEUS_MULTIPROC_DIR` (compose mounts a tmpfs): prometheus-client keeps
each process's values in files there and `/metrics` adds them all up. Without it (the embedded
default, one process) the in-memory registry is served as is.

Ours, because the plugin has no such thing: the count of requests the router refused (unknown
path, method not allowed), which never reach a route's middleware; the job metrics; the small
exporter that serves them from a worker, which has no HTTP server of its own; and a leaner
`__call__` for the plugin's middleware (`RouteMetrics`), which records the plugin's own metrics.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import MediaType, Response, get
from litestar.middleware._internal.exceptions import ExceptionHandlerMiddleware
from litestar.plugins.prometheus import (
    PrometheusConfig,
    PrometheusController,
    PrometheusMiddleware,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)

logger = logging.getLogger("credit.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
HTTP_PREFIX = "credit_http"
HTTP_BUCKETS: list[str | float] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0
]  # fmt: skip

HTTP_UNROUTED = Counter(
    f"{HTTP_PREFIX}_unrouted_requests_total",
    "HTTP requests that matched no route (404) or no method of their route (405), by method "
    "and status code.",
    ["method", "status_code"],
)
JOBS = Counter(
    "credit_jobs_total",
    "Background jobs finished, by job function and outcome (complete, failed, retried, aborted).",
    ["job", "status"],
)
JOB_DURATION = Histogram(
    "credit_job_duration_seconds",
    "Wall time of one job attempt, by job function.",
    ["job"],
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
)
# A client may send any token as a method; unknown ones share one series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})

_exporter_lock = threading.Lock()
_exporter_started = False


class RouteMetrics(PrometheusMiddleware):
    """The plugin's middleware and metrics, with each labelled series looked up once.

    The plugin's own `__call__` builds a `Request` and its URL, a label dict and four labelled
    series (`labels()` validates and takes a lock) on every request, a cost every request pays
    (docs/decisions.md). This one reads the method and route template from the scope and keeps
    the series per (method, route, status), set through the plugin's `middleware_class`. Same
    metric names and labels; the duration runs to the response's last message (the plugin's
    stops at the first body message). It supports the options `prometheus_config` uses and
    refuses the others rather than ignore them.

    What it wraps sits inside Litestar's exception handler: a refusal raised by a middleware
    below (a 401 from authentication, a 429 from the rate limit) becomes its response there,
    so it is counted with its own status, not as a 500 with no response at all.
    """

    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        if config.labels or config.exemplars or config.excluded_http_methods:
            raise ValueError("RouteMetrics supports no extra labels, exemplars or exclusions")
        super().__init__(ExceptionHandlerMiddleware(app=app, debug=None), config)
        self._app_name = config.app_name
        self._in_progress: dict[tuple[str, str], Any] = {}
        self._finished: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    def _labels(self, method: str, route: str, status: int) -> dict[str, str | int | float]:
        # The plugin's label names, in its order.
        return {"method": method, "path": route, "status_code": status, "app_name": self._app_name}

    def _gauge(self, method: str, route: str) -> Any:
        labels = self._labels(method, route, 200)  # the plugin labels it before any status
        gauge = self._in_progress[(method, route)] = self.requests_in_progress(labels).labels(
            *labels.values()
        )
        return gauge

    def _series(self, method: str, route: str, status: int) -> tuple[Any, Any, Any]:
        labels = self._labels(method, route, status)
        values = [*labels.values()]
        errors = self.requests_error_count(labels).labels(*values) if status >= 500 else None
        series = self._finished[(method, route, status)] = (
            self.request_count(labels).labels(*values),
            self.request_time(labels).labels(*values),
            errors,
        )
        return series

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = str(scope.get("method") or scope["type"])  # the plugin's label for websockets
        route = scope["path_template"]
        status = 500  # no response started: the client saw the connection fail
        started = time.perf_counter()

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        gauge = self._in_progress.get((method, route)) or self._gauge(method, route)
        gauge.inc()
        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            gauge.dec()
            duration = time.perf_counter() - started
            count, latency, errors = self._finished.get((method, route, status)) or self._series(
                method, route, status
            )
            count.inc()
            latency.observe(duration)
            if errors is not None:
                errors.inc()


def prometheus_config() -> PrometheusConfig:
    """Litestar's HTTP metrics: `credit_http_requests_total`,
    `credit_http_request_duration_seconds`, `credit_http_requests_in_progress` and
    `credit_http_requests_error_total` (5xx), labelled `method`, `path` (the route
    template), `status_code` and `app_name`."""
    return PrometheusConfig(
        app_name="credit",
        prefix=HTTP_PREFIX,
        group_path=True,
        buckets=HTTP_BUCKETS,
        middleware_class=RouteMetrics,
    )


# The portfolio at the latest close of day, set by whoever reads it (`BEFORE_SCRAPE`).
PORTFOLIO_LOANS = Gauge(
    "credit_portfolio_loans",
    "Loans with a balance at the latest close of day, by asset classification.",
    ["classification"],
    multiprocess_mode="mostrecent",
)
PORTFOLIO_OUTSTANDING = Gauge(
    "credit_portfolio_outstanding",
    "Outstanding principal (rupees) at the latest close of day, by asset classification.",
    ["classification"],
    multiprocess_mode="mostrecent",
)
# Refreshers run before `/metrics` answers (a module registers one for figures it keeps in
# the database, such as the portfolio); a failing one leaves its figures as they were.
BEFORE_SCRAPE: list[Callable[[], Awaitable[None]]] = []


def set_portfolio(figures: dict[str, tuple[int, float]]) -> None:
    """The latest close's loans and outstanding by class."""
    for name, (loans, outstanding) in figures.items():
        PORTFOLIO_LOANS.labels(name).set(loans)
        PORTFOLIO_OUTSTANDING.labels(name).set(outstanding)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


def ensure_multiprocess_dir() -> None:
    """The directory must exist before the first metric is touched; emptying it is the
    deployment's job (it must happen before any process starts, so no process can do it)."""
    if path := multiprocess_dir():
        os.makedirs(path, exist_ok=True)


def metrics_registry() -> CollectorRegistry:
    if path := multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


# The labelled series, looked up once: `labels()` validates and locks on every call.
_unrouted_series: dict[tuple[str, int], Any] = {}


def observe_unrouted(method: str, status: int) -> None:
    key = (method if method in KNOWN_METHODS else "OTHER", status)
    series = _unrouted_series.get(key)
    if series is None:
        series = _unrouted_series[key] = HTTP_UNROUTED.labels(key[0], str(status))
    series.inc()


def observe_job(job: str, status: str, seconds: float) -> None:
    JOBS.labels(job, status).inc()
    JOB_DURATION.labels(job).observe(seconds)


def start_worker_exporter(port: int | None) -> bool:
    """Serve this process's metrics on `port` (once per process); False when not started."""
    global _exporter_started
    if port is None:
        return False
    with _exporter_lock:
        if _exporter_started:
            return True
        try:
            start_http_server(port, registry=metrics_registry())
        except OSError as exc:
            # A second worker process in the same container cannot bind the same port; it
            # still works, its metrics are just not exported.
            logger.warning("worker metrics exporter not started on port %s: %s", port, exc)
            return False
        _exporter_started = True
        logger.info("worker metrics exporter listening on port %s", port)
        return True


class MetricsController(PrometheusController):
    """The plugin's `/metrics` (multiprocess-aware), documented with the operator routes."""

    tags = ["Operations"]
    opt = {"exclude_from_auth": True}

    @get(
        operation_id="metrics",
        summary="Prometheus metrics",
        description="Prometheus text format: `credit_http_requests_total`, "
        "`credit_http_request_duration_seconds` and `credit_http_requests_in_progress` by "
        "route template (label `path`), `credit_http_unrouted_requests_total` for requests "
        "that matched no route, `credit_jobs_total` and `credit_job_duration_seconds` per job "
        "function, `credit_portfolio_loans` and `credit_portfolio_outstanding` by "
        "classification as of the latest close of day. Not part of the `/api` contract.",
        media_type=MediaType.TEXT,
    )
    async def get(self) -> Response[bytes]:  # the plugin's, typed as the text it returns
        for refresh in BEFORE_SCRAPE:
            try:
                await refresh()
            except Exception as exc:  # the database briefly down: the figures stay as they were
                logger.warning("metrics refresh failed: %s", type(exc).__name__)
        metrics: Response[bytes] = await PrometheusController.get.fn(self)
        return metrics
