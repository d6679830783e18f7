"""The request id and the one `request` access line of every HTTP request.

The id is the caller's `X-Request-ID` when it is a sane token, a new one otherwise; it is echoed
in the response's `X-Request-ID` header and bound to every line logged while the request runs.
Bodies, headers and query strings are never logged: they carry phone numbers and incomes.

Ours, not Litestar's logging middleware: this wraps the app's ASGI handler, outside the router,
so 404s for unknown paths and 405s are logged (and counted, `metrics.observe_unrouted`) too;
route middleware never sees those. The line is encoded straight from a struct, off structlog's
processor chain, because it runs on every request.
"""

from __future__ import annotations

import logging
import random
import re
import sys
import time
from datetime import UTC, datetime

import msgspec
import structlog
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from credit.plugins import metrics
from credit.plugins.logs import PHONE_IN_TEXT, level_name, renderer, renders_json
from credit.settings import Settings

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Probes arrive every few seconds from compose and Prometheus: logged at debug unless failing.
PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})


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
    """The one `request` line per request, the line structlog's renderer would write (same
    keys, `level`, UTC `timestamp`); on a terminal it goes through structlog's console renderer,
    like every other line. Its fields are fixed and carry no personal data; the caller scrubs
    the path of phone numbers."""

    def __init__(self, settings: Settings) -> None:
        self.threshold = logging.getLevelNamesMapping()[level_name(settings)]
        # WriteLogger-style: one write() per line (with PYTHONUNBUFFERED, set in the
        # Dockerfile, print() makes two, the text and the newline).
        self._stream = sys.stdout
        self._encode = msgspec.json.Encoder().encode
        self._console = (
            None
            if renders_json()
            else structlog.wrap_logger(
                structlog.WriteLogger(self._stream),
                processors=[
                    structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True),
                    renderer(),
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


class RequestLog:
    """ASGI wrapper: request id and one access-log line per request."""

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
            method = str(scope.get("method", "GET"))
            route = scope.get("path_template")
            if route is None:  # the router refused it: Litestar's metrics never saw it
                route = "unmatched"
                metrics.observe_unrouted(method, status)
            path = scope.get("path", "")
            self.log.request(
                logging.DEBUG if path in PROBE_PATHS and status < 400 else logging.INFO,
                method,
                PHONE_IN_TEXT.sub("[phone]", path),
                route,
                status,
                round(duration * 1000, 2),
                request_id,
            )
