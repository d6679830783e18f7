"""Who may call `/api`: API-key authentication, read/write scopes, and per-key rate limits.

- Authentication (when `AUTH_REQUIRED=true`): every `/api` route needs an active key in the
  `X-API-Key` header; missing or unknown/revoked keys get 401. Other paths (`/health`,
  `/ready`, `/metrics`, `/schema`) stay open so probes and docs work.
- Scopes: GET routes need `read`; anything that writes needs `write` (register, create-loan,
  ingest). `check-eligibility` is a POST but writes nothing, so `read` is enough: a read key
  can ask "would this be approved?" but cannot book it. A handler can say otherwise with
  `opt={"scope": "read" | "write"}`.
- Rate limits: `credit.modules.access.rate_limit`, counted per key. A request without a
  valid key is counted per client address against a small limit (`anonymous`); once an
  address is over it, its requests get 429 here without a database lookup, so guessing keys
  costs the database nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)
from litestar.types import ASGIApp

from credit.http import is_api_path
from credit.modules.access.rate_limit import Limit, Limiter, Verdict, address_of, too_many
from credit.modules.access.service import ApiKeyService, Principal, Scope

logger = logging.getLogger("credit.security")

API_KEY_HEADER = "X-API-Key"
SECURITY_SCHEME = "apiKey"
# POST routes that only read (see the module docstring).
READ_ONLY_OPERATIONS = frozenset({"checkEligibility"})
# Every 401 says how to authenticate (RFC 9110 requires the header on 401).
ANONYMOUS_DETAIL = "Too many requests without a valid API key from this address."
CHALLENGE = {"WWW-Authenticate": f'ApiKey realm="credit", header="{API_KEY_HEADER}"'}


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
    """Resolves `X-API-Key` to a `Principal` (in `request.auth`) on every `/api` route.

    The key is looked up on a session of its own, closed as soon as the key is found: the
    request's body is read after this middleware, and a client that sends it slowly must not
    hold a pooled connection meanwhile (the request's own session takes one only when its
    handler first queries, once the body is in). With
    `anonymous` set, each request that has no valid key is counted per client address; an
    address over that limit gets 429 (this process skips its key lookups until then).
    """

    def __init__(
        self,
        app: ASGIApp,
        alchemy: SQLAlchemyAsyncConfig,
        anonymous: Limit | None = None,
        limiter: Limiter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self.alchemy = alchemy
        self.anonymous = anonymous
        self.limiter = limiter
        self._refused_until: dict[str, tuple[float, Verdict]] = {}

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
        if not is_api_path(connection.scope["path"]):
            # Everything outside /api is left alone (probes, metrics, the OpenAPI docs).
            return AuthenticationResult(user=None, auth=None)
        address = address_of(connection.scope)
        self._refuse_if_over(address)
        presented = connection.headers.get(API_KEY_HEADER)
        if not presented:
            await self._count_failure(address)
            raise NotAuthorizedException(
                detail=f"An API key is required in {API_KEY_HEADER}.", headers=CHALLENGE
            )
        async with ApiKeyService.new(config=self.alchemy) as keys:
            principal = await keys.find_active(presented.strip())
        if principal is None:
            await self._count_failure(address)
            # Never echo the presented key: it may be a real key with a typo.
            raise NotAuthorizedException(
                detail="The API key is unknown or revoked.", headers=CHALLENGE
            )
        return AuthenticationResult(user=principal, auth=principal)

    def _refuse_if_over(self, address: str) -> None:
        refused = self._refused_until.get(address)
        if refused is None:
            return
        until, verdict = refused
        if time.monotonic() >= until:
            del self._refused_until[address]
            return
        assert self.anonymous is not None
        raise too_many(self.anonymous, verdict, ANONYMOUS_DETAIL)

    async def _count_failure(self, address: str) -> None:
        if self.anonymous is None or self.limiter is None:
            return
        verdict = await self.limiter.hit(f"anon:{address}", self.anonymous)
        if not verdict.allowed:
            if len(self._refused_until) > 10_000:
                self._refused_until.clear()
            self._refused_until[address] = (time.monotonic() + verdict.retry_after_s, verdict)
            raise too_many(self.anonymous, verdict, ANONYMOUS_DETAIL)


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
