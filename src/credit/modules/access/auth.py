"""Who may call `/api`: API-key authentication, read/write scopes, and per-key rate limits.

- Authentication (when `AUTH_REQUIRED=true`): every `/api` route needs an active key in the
  `X-API-Key` header; missing or unknown/revoked keys get 401. Other paths (`/health`,
  `/ready`, `/metrics`, `/schema`) stay open so probes and docs work.
- Scopes: GET routes need `read`; anything that writes needs `write` (register, create-loan,
  ingest). `check-eligibility` is a POST but writes nothing, so `read` is enough: a read key
  can ask "would this be approved?" but cannot book it. A handler can say otherwise with
  `opt={"scope": "read" | "write"}`.
- Rate limits: `credit.modules.access.rate_limit`, counted per key.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)

from credit.modules.access.service import Principal, Scope, find_active
from credit.plugins.sql import database_of

logger = logging.getLogger("credit.security")

API_KEY_HEADER = "X-API-Key"
SECURITY_SCHEME = "apiKey"
# POST routes that only read (see the module docstring).
READ_ONLY_OPERATIONS = frozenset({"checkEligibility"})
# Every 401 says how to authenticate (RFC 9110 requires the header on 401).
CHALLENGE = {"WWW-Authenticate": f'ApiKey realm="credit", header="{API_KEY_HEADER}"'}


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def required_scope(handler: BaseRouteHandler, method: str) -> Scope:
    declared = handler.opt.get("scope")
    if declared in ("read", "write"):
        return declared  # type: ignore[no-any-return]
    if method in ("GET", "HEAD", "OPTIONS"):
        return "read"
    if getattr(handler, "operation_id", None) in READ_ONLY_OPERATIONS:
        return "read"
    return "write"


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    """Resolves `X-API-Key` to a `Principal` (in `request.auth`) on every `/api` route."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
        if not is_api_path(connection.scope["path"]):
            # Everything outside /api is left alone (probes, metrics, the OpenAPI docs).
            return AuthenticationResult(user=None, auth=None)
        presented = connection.headers.get(API_KEY_HEADER)
        if not presented:
            raise NotAuthorizedException(
                detail=f"An API key is required in {API_KEY_HEADER}.", headers=CHALLENGE
            )
        principal = await find_active(database_of(connection.app), presented.strip())
        if principal is None:
            # Never echo the presented key: it may be a real key with a typo.
            raise NotAuthorizedException(
                detail="The API key is unknown or revoked.", headers=CHALLENGE
            )
        return AuthenticationResult(user=principal, auth=principal)


def scope_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Read keys may only read; runs after authentication, so `auth` is set on /api routes."""
    principal = connection.scope.get("auth")
    if not isinstance(principal, Principal):
        return
    needed = required_scope(handler, str(connection.scope.get("method", "GET")))
    if not principal.allows(needed):
        raise PermissionDeniedException(
            detail=f"This API key has {principal.scope} scope; this operation needs {needed}."
        )
