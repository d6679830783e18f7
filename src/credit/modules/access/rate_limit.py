"""Per-key request limits on `/api`: a fixed one-minute window counted in one operation.

Each caller (its API key, or its address while the API is open) may make `per_minute`
requests in a window that starts with its first request; the next ones get 429 with
`Retry-After` until the window ends. Every answer carries the IETF draft's `RateLimit-*`
headers. With `REDIS_URL` the count lives in Redis, so all web processes share one budget:
`INCR` + `EXPIRE ... NX` + `TTL` in one round trip, atomic per key (`NX` needs Redis 7, which
compose runs). While Redis cannot be reached (or refuses the commands), counting falls back to
process memory for a few seconds at a time instead of failing requests: the API must keep
serving when only the job queue is down.

Why not Litestar's `RateLimitMiddleware`: it keeps every request's timestamp in the window
and re-encodes that list on every request (O(limit) per request), takes a process-wide lock
around two store round trips, and its read-then-write is not atomic across processes. At the
API benchmark's request rate it was the single most expensive piece of the request path
(docs/benchmarks.md, API).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from credit.modules.access.auth import is_api_path
from credit.modules.access.service import Principal

logger = logging.getLogger("credit.security")

WINDOW_S = 60
REDIS_NAMESPACE = "credit_rate_limit"


class WindowCounter(Protocol):
    async def hit(self, key: str) -> tuple[int, int]:
        """Count one request for `key`: (requests in the current window, seconds left)."""
        ...


class MemoryCounter:
    """This process's counts; windows that ended are dropped as the table grows."""

    def __init__(self, window_s: int = WINDOW_S) -> None:
        self.window_s = window_s
        self._windows: dict[str, list[float]] = {}  # key -> [window end, count]

    async def hit(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        window = self._windows.get(key)
        if window is None or window[0] <= now:
            if len(self._windows) > 10_000:
                self._windows = {k: w for k, w in self._windows.items() if w[0] > now}
            window = self._windows[key] = [now + self.window_s, 0]
        window[1] += 1
        return int(window[1]), max(1, int(window[0] - now + 0.999))


class RedisCounter:
    def __init__(self, client: Any, window_s: int = WINDOW_S) -> None:
        self.client = client
        self.window_s = window_s

    async def hit(self, key: str) -> tuple[int, int]:
        name = f"{REDIS_NAMESPACE}:{key}"
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.incr(name)
            pipe.expire(name, self.window_s, nx=True)
            pipe.ttl(name)
            count, _, ttl = await pipe.execute()
        return int(count), max(1, int(ttl))

    async def close(self) -> None:
        await self.client.aclose()


class FallbackCounter:
    """Redis, or process memory for `retry_after` seconds after Redis failed: a dead Redis
    costs one failed attempt per period, not one per request."""

    def __init__(self, primary: RedisCounter, retry_after: float = 5.0) -> None:
        self.primary = primary
        self.fallback = MemoryCounter(primary.window_s)
        self.retry_after = retry_after
        self._down_until = 0.0

    async def hit(self, key: str) -> tuple[int, int]:
        if time.monotonic() >= self._down_until:
            try:
                return await self.primary.hit(key)
            except Exception as exc:  # any Redis or network failure: degrade, never fail
                logger.warning(
                    "rate-limit store unreachable (%s); counting in process memory for %.0f s",
                    type(exc).__name__,
                    self.retry_after,
                )
                self._down_until = time.monotonic() + self.retry_after
        return await self.fallback.hit(key)

    async def close(self) -> None:
        await self.primary.close()


def shared_counter(redis_url: str | None) -> MemoryCounter | FallbackCounter:
    if not redis_url:
        return MemoryCounter()
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return FallbackCounter(RedisCounter(client))


def caller_of(scope: Scope) -> str:
    principal = scope.get("auth")
    if isinstance(principal, Principal):
        return f"key:{principal.key_id}"
    client = scope.get("client")
    return f"addr:{client[0] if client else '127.0.0.1'}"


class RateLimitMiddleware:
    """ASGI middleware (after authentication, so `scope["auth"]` names the key)."""

    def __init__(self, app: ASGIApp, per_minute: int, counter: WindowCounter) -> None:
        self.app = app
        self.limit = per_minute
        self.counter = counter
        self._policy = f"{per_minute}; w={WINDOW_S}".encode()
        self._limit_header = str(per_minute).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        count, reset = await self.counter.hit(caller_of(scope))
        headers = [
            (b"ratelimit-policy", self._policy),
            (b"ratelimit-limit", self._limit_header),
            (b"ratelimit-remaining", str(max(0, self.limit - count)).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        if count > self.limit:
            raise TooManyRequestsException(
                detail="Too many requests for this key; see the RateLimit-* headers.",
                headers={
                    **{name.decode(): value.decode() for name, value in headers},
                    "Retry-After": str(reset),
                },
            )

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_limits)
