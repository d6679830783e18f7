"""Prometheus metrics: HTTP requests per route template, and background jobs.

Each web process counts its own requests. With several uvicorn workers in one container a
scrape reaches one of them at random, so production sets `PROMETHEUS_MULTIPROC_DIR` to an
empty directory (compose mounts a tmpfs): prometheus-client then keeps every value in a
per-process file there and `/metrics` adds all the files up. Without the variable (the
embedded default, one process) the in-memory registry is served as is.

Jobs are counted where they run: in the web process on the embedded default, in the SAQ worker
otherwise. A worker has no HTTP server of its own, so `WORKER_METRICS_PORT` starts
prometheus-client's small exporter in it (one worker process per container, scaled with
`--scale worker=N`, each its own scrape target).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from litestar import MediaType, Response, get
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)

logger = logging.getLogger("credit.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "credit_http_requests_total",
    "HTTP requests served, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "credit_http_request_duration_seconds",
    "Time from receiving a request to sending the last byte of its response.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
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

_exporter_lock = threading.Lock()
_exporter_started = False


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


def render_metrics() -> bytes:
    return generate_latest(metrics_registry())


# The labelled series of each (method, route, status), looked up once: `labels()` validates
# and locks on every call, and this runs on every request.
_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    series = _request_series.get((method, route, status))
    if series is None:
        series = _request_series[(method, route, status)] = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_LATENCY.labels(method, route),
        )
    series[0].inc()
    series[1].observe(seconds)


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


@get(
    "/metrics",
    tags=["Operations"],
    operation_id="metrics",
    summary="Prometheus metrics",
    description="Prometheus text format: `credit_http_requests_total` and "
    "`credit_http_request_duration_seconds` per route template, `credit_jobs_total` and "
    "`credit_job_duration_seconds` per job function. Not part of the `/api` contract.",
    media_type=MediaType.TEXT,
    opt={"exclude_from_auth": True},
    sync_to_thread=False,
)
def metrics() -> Response[bytes]:
    return Response(render_metrics(), media_type=CONTENT_TYPE_LATEST)
