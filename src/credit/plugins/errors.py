"""Errors are JSON of Litestar's shape, never a page or a stack trace.

The services' domain errors get their status here, once: `NotFound` 404, `Conflict` 409 (a
taken phone number), `DatabaseUnavailable` 503, a refused payment or an `Unprocessable`
request 422 naming its field (a payment to a paid-off loan 409, a loan that would end past
the calendar's last day 422 naming its tenure). A database or job queue
(Redis) that cannot be reached becomes 503 (the client may retry), a constraint a race
slipped past 409, and anything unexpected a bare 500 whose detail says nothing of the data
involved; the traceback goes to the log.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from litestar.status_codes import (
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from credit.db.database import unavailable
from credit.errors import Conflict, DatabaseUnavailable, NotFound, Unprocessable
from credit.lending.amortization import PastTheCalendar
from credit.lending.servicing import LoanClosed, PaymentRefused
from credit.plugins.queue import JobQueueUnavailable

logger = logging.getLogger("credit.errors")


def _json(status_code: int, detail: str) -> Response[dict[str, object]]:
    return Response(
        {"status_code": status_code, "detail": detail},
        status_code=status_code,
        media_type=MediaType.JSON,
    )


def database_unavailable(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, object]]:
    # The driver's error it stands for (its class only: a message may quote a statement).
    logger.warning("database unavailable: %s", type(exc.__cause__ or exc).__name__)
    return _json(HTTP_503_SERVICE_UNAVAILABLE, "The database is unavailable; try again shortly.")


def database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, object]]:
    if isinstance(exc, IntegrityError):
        return conflict(request, Conflict("The request conflicts with data already stored."))
    if unavailable(exc):
        return database_unavailable(request, exc)
    return unexpected(request, exc)


def conflict(_: Request[Any, Any, Any], exc: Conflict) -> Response[dict[str, object]]:
    response = _json(HTTP_409_CONFLICT, exc.detail)
    if exc.extra is not None:
        response.content["extra"] = exc.extra
    return response


def not_found(_: Request[Any, Any, Any], exc: NotFound) -> Response[dict[str, object]]:
    return _json(HTTP_404_NOT_FOUND, exc.detail)


def _unprocessable(detail: str, field: str | None, source: str) -> Response[dict[str, object]]:
    body: dict[str, object] = {"status_code": HTTP_422_UNPROCESSABLE_ENTITY, "detail": detail}
    if field is not None:
        body["extra"] = [{"key": field, "message": detail, "source": source}]
    return Response(body, status_code=HTTP_422_UNPROCESSABLE_ENTITY, media_type=MediaType.JSON)


def payment_refused(_: Request[Any, Any, Any], exc: PaymentRefused) -> Response[dict[str, object]]:
    if isinstance(exc, LoanClosed):
        return _json(HTTP_409_CONFLICT, exc.detail)
    return _unprocessable(exc.detail, exc.field, "body")


def unprocessable(_: Request[Any, Any, Any], exc: Unprocessable) -> Response[dict[str, object]]:
    return _unprocessable(exc.detail, exc.field, exc.source)


def past_the_calendar(
    _: Request[Any, Any, Any], exc: PastTheCalendar
) -> Response[dict[str, object]]:
    return _unprocessable(exc.detail, exc.field, "body")


def job_queue_unavailable(
    _: Request[Any, Any, Any], exc: JobQueueUnavailable
) -> Response[dict[str, object]]:
    logger.warning("job queue unavailable: %s", type(exc.__cause__).__name__)
    return _json(HTTP_503_SERVICE_UNAVAILABLE, exc.message)


def unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, object]]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json(HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error.")


def api_exception_handlers() -> dict[Any, Any]:
    """The JSON answer of each error; the console renders the same status and detail as a page."""
    return {
        DBAPIError: database_error,
        DatabaseUnavailable: database_unavailable,
        Conflict: conflict,
        NotFound: not_found,
        PaymentRefused: payment_refused,
        Unprocessable: unprocessable,
        PastTheCalendar: past_the_calendar,
        JobQueueUnavailable: job_queue_unavailable,
        PoolTimeoutError: database_unavailable,
        ConnectionError: database_unavailable,
        TimeoutError: database_unavailable,
        # Litestar routes every non-HTTP exception to the 500 handler.
        HTTP_500_INTERNAL_SERVER_ERROR: unexpected,
    }


class ErrorsPlugin(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.exception_handlers.update(api_exception_handlers())
        return app_config
