"""Who may call `/api`: API-key authentication, read/write scopes, and per-key rate limits.

- Authentication (when `AUTH_REQUIRED=true`): every `/api` route needs an active key in the
  `X-API-Key` header; missing or unknown/revoked keys get 401. Other paths (`/health`,
  `/ready`, `/metrics`, `/schema`) stay open so probes and docs work.
- Scopes: GET routes need `read`; anything that writes needs `write` (register, create-loan,
  ingest). `check-eligibility` is a POST but writes nothing, so `read` is enough: a read key
  can ask "would this be approved?" but cannot book it. A handler can say otherwise with
  `opt={"scope": "read" | "write"}`.
- Rate limits: Litestar's `RateLimitMiddleware`, counted per key (per client address when
  the API is open), in Redis when `REDIS_URL` is set so every web process shares one count.
  If Redis stops answering, counting falls back to process memory for a while instead of
  failing requests: the API must keep serving when only the job queue is down.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from litestar.connection import ASGIConnection, Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.authentication import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
)
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.types import ASGIApp
from sqlalchemy.ext.asyncio import AsyncEngine

from credit.modules.access.service import Principal, Scope, find_active

logger = logging.getLogger("credit.security")

API_KEY_HEADER = "X-API-Key"
SECURITY_SCHEME = "apiKey"
# POST routes that only read (see the module docstring).
READ_ONLY_OPERATIONS = frozenset({"checkEligibility"})
RATE_LIMIT_STORE = "rate_limit"


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

    def __init__(self, app: ASGIApp, engine: AsyncEngine) -> None:
        super().__init__(app)
        self.engine = engine

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
        if not is_api_path(connection.scope["path"]):
            # Everything outside /api is left alone (probes, metrics, the OpenAPI docs).
            return AuthenticationResult(user=None, auth=None)
        presented = connection.headers.get(API_KEY_HEADER)
        if not presented:
            raise NotAuthorizedException(detail=f"An API key is required in {API_KEY_HEADER}.")
        principal = await find_active(self.engine, presented.strip())
        if principal is None:
            # Never echo the presented key: it may be a real key with a typo.
            raise NotAuthorizedException(detail="The API key is unknown or revoked.")
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


def rate_limit_identifier(request: Request[Any, Any, Any]) -> str:
    principal = request.scope.get("auth")
    if isinstance(principal, Principal):
        return f"key:{principal.key_id}"
    return f"addr:{get_remote_address(request)}"


async def throttles(request: Request[Any, Any, Any]) -> bool:
    # async on purpose: Litestar runs a sync check_throttle_handler in a worker thread, a
    # thread hop on every request (docs/benchmarks.md, API).
    return is_api_path(request.scope["path"])


def rate_limit_config(per_minute: int) -> RateLimitConfig:
    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        identifier_for_request=rate_limit_identifier,
        check_throttle_handler=throttles,
        store=RATE_LIMIT_STORE,
    )


class FallbackStore(Store):
    """A shared store (Redis) that degrades to process memory while it is unreachable.

    After a failure the shared store is left alone for `retry_after` seconds, so a dead Redis
    costs one failed connection attempt per period, not one per request.
    """

    def __init__(self, primary: Store, retry_after: float = 5.0) -> None:
        self.primary = primary
        self.fallback = MemoryStore()
        self.retry_after = retry_after
        self._down_until = 0.0

    def _use_primary(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, exc: Exception) -> None:
        if self._use_primary():
            logger.warning(
                "rate-limit store unreachable (%s); counting in process memory for %.0f s",
                type(exc).__name__,
                self.retry_after,
            )
        self._down_until = time.monotonic() + self.retry_after

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        if self._use_primary():
            try:
                await self.primary.set(key, value, expires_in)
                return
            except Exception as exc:
                self._failed(exc)
        await self.fallback.set(key, value, expires_in)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        if self._use_primary():
            try:
                return await self.primary.get(key, renew_for)
            except Exception as exc:
                self._failed(exc)
        return await self.fallback.get(key, renew_for)

    async def delete(self, key: str) -> None:
        await self.fallback.delete(key)
        if self._use_primary():
            try:
                await self.primary.delete(key)
            except Exception as exc:
                self._failed(exc)

    async def delete_all(self) -> None:
        await self.fallback.delete_all()
        if self._use_primary():
            try:
                await self.primary.delete_all()
            except Exception as exc:
                self._failed(exc)

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        if self._use_primary():
            try:
                return await self.primary.expires_in(key)
            except Exception as exc:
                self._failed(exc)
        return await self.fallback.expires_in(key)

    async def __aexit__(self, *args: Any) -> None:
        await self.primary.__aexit__(*args)


def shared_rate_limit_store(redis_url: str | None) -> Store:
    if not redis_url:
        return MemoryStore()
    from litestar.stores.redis import RedisStore
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
    redis_store = RedisStore(client, namespace="credit_rate_limit", handle_client_shutdown=True)
    return FallbackStore(redis_store)
