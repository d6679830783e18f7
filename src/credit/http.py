"""Shared bits of the HTTP layer: id path parameters, and documented responses (one typed
error model, `ApiError`, for every error; realistic examples)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter

from credit.ids import MAX_ID as MAX_ID  # re-exported: handlers bound their ids with it


def is_api_path(path: str) -> bool:
    """The contract's routes (keys, limits); probes, metrics and docs are outside it."""
    return path == "/api" or path.startswith("/api/")


CustomerIdPath = Annotated[
    int,
    Parameter(
        ge=1,
        le=MAX_ID,
        description="The customer's id (at most 2^53 - 1, as every id).",
        examples=[Example(value=1)],
    ),
]
LoanIdPath = Annotated[
    int,
    Parameter(
        ge=1,
        le=MAX_ID,
        description="The loan's id (at most 2^53 - 1, as every id).",
        examples=[Example(value=1)],
    ),
]


class FieldError(msgspec.Struct, omit_defaults=True):
    """What was wrong, and with which field (`key`) of which part of the request."""

    message: str
    key: str | None = None
    source: str | None = None


class ApiError(msgspec.Struct, omit_defaults=True):
    """Every error: Litestar's shape. `extra` lists the fields refused (400, 415); /ready's
    503 gives its checks there instead."""

    status_code: int
    detail: str
    extra: list[FieldError] | dict[str, Any] | None = None


ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: {
        "status_code": 400,
        "detail": "Validation failed for POST /api/register",
        "extra": [{"message": "Expected `int`, got `str`", "key": "age", "source": "body"}],
    },
    401: {"status_code": 401, "detail": "The API key is unknown or revoked."},
    403: {
        "status_code": 403,
        "detail": "This API key has read scope; this operation needs write.",
    },
    404: {"status_code": 404, "detail": "Customer 42 not found."},
    409: {"status_code": 409, "detail": "A customer with this phone number is already registered."},
    413: {"status_code": 413, "detail": "Request Entity Too Large"},
    415: {
        "status_code": 415,
        "detail": "The body must be JSON, sent with `Content-Type: application/json`.",
        "extra": [{"message": "Got text/plain.", "key": "Content-Type"}],
    },
    429: {
        "status_code": 429,
        "detail": "Too many requests for this key; see the RateLimit-* headers.",
    },
    503: {"status_code": 503, "detail": "The job queue is unavailable; try again shortly."},
}


def error(description: str, status_code: int | None = None) -> ResponseSpec:
    """A documented error: the shared `ApiError` model with a typical example."""
    example = ERROR_EXAMPLES.get(status_code) if status_code else None
    return ResponseSpec(
        data_container=ApiError,
        description=description,
        generate_examples=False,
        examples=[Example(summary=description, value=example)] if example else None,
    )


def ok(model: Any, description: str, example: Any = None) -> ResponseSpec:
    """A documented success response with a realistic example: the answer's own (its Struct's
    `example`, beside its fields and its `of`) unless another is given."""
    value = model.example if example is None else example
    return ResponseSpec(
        data_container=model,
        description=description,
        generate_examples=False,
        examples=[Example(summary=description, value=value)],
    )


BAD_REQUEST = {
    400: error("The request is malformed or a field is out of range; `extra` names it.", 400)
}
NOT_FOUND = {404: error("No such customer or loan.", 404)}
UNSUPPORTED_MEDIA_TYPE = {
    415: error("The body is not sent as `application/json`.", 415),
}


def only_query(*names: str) -> Any:
    """A guard that refuses query parameters other than `names`, and any of them given twice
    (400 naming the first), so a misspelt `befor=` or `nmae=` is an error rather than the first
    page of everything, and `?as_of=a&as_of=b` is not silently one of the two."""
    known = frozenset(names)

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        unknown = sorted(set(connection.query_params) - known)
        if unknown:
            raise ValidationException(
                detail=f"Validation failed for GET {connection.url.path}",
                extra=[
                    {"message": "Unknown query parameter", "key": unknown[0], "source": "query"}
                ],
            )
        repeated = sorted(
            name for name in known if len(connection.query_params.getall(name, [])) > 1
        )
        if repeated:
            raise ValidationException(
                detail=f"Validation failed for GET {connection.url.path}",
                extra=[{"message": "Given more than once", "key": repeated[0], "source": "query"}],
            )

    return guard
