"""Request limits on `/api`: a rate with a burst allowance per caller, shared across processes.

Each caller (its API key; its address while the API is open, or while it presents no valid
key) may send `burst` requests at once and then `rate` a second, indefinitely: the generic
cell rate algorithm (GCRA, a token bucket kept as one timestamp, the "theoretical arrival
time"). A request over the limit gets 429 with `Retry-After`; every answer carries the IETF
draft's `RateLimit-*` headers. With `REDIS_URL` the timestamp lives in Redis, so all web
processes share one budget: one Lua script per request, atomic, on Redis's clock (processes'
clocks never disagree). While Redis cannot be reached, counting falls back to process memory
for a few seconds at a time instead of failing requests: the API must keep serving when only
the job queue is down.

Why not Litestar's `RateLimitMiddleware`: it keeps every request's timestamp in the window
and re-encodes that list on every request (O(limit) per request), takes a process-wide lock
around two store round trips, and its read-then-write is not atomic across processes.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Protocol

import msgspec
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from credit.http import is_api_path
from credit.modules.access.service import Principal

logger = logging.getLogger("credit.security")

REDIS_NAMESPACE = "credit_rate_limit"
MICROS = 1_000_000


class Limit(msgspec.Struct, frozen=True):
    """`burst` requests at once, then `per_second` a second."""

    per_second: float
    burst: int

    @property
    def interval_us(self) -> int:
        return max(1, int(MICROS / self.per_second))

    @property
    def policy(self) -> str:
        return f"{self.burst};w={max(1, math.ceil(self.burst / self.per_second))}"


class Verdict(msgspec.Struct, frozen=True):
    allowed: bool
    remaining: int
    retry_after_s: int  # until the next request may pass (0 when this one passed)
    reset_s: int  # until the whole burst is available again


def decide(tat_us: int | None, now_us: int, limit: Limit) -> tuple[Verdict, int | None]:
    """GCRA: the verdict and the new theoretical arrival time (None: leave it unchanged)."""
    interval = limit.interval_us
    tat = max(tat_us or now_us, now_us)
    new_tat = tat + interval
    allow_at = new_tat - limit.burst * interval
    if now_us < allow_at:
        return Verdict(False, 0, _seconds(allow_at - now_us), _seconds(tat - now_us)), None
    remaining = min(limit.burst - 1, (now_us - allow_at) // interval)
    return Verdict(True, int(remaining), 0, _seconds(new_tat - now_us)), new_tat


def _seconds(micros: int) -> int:
    return max(1, math.ceil(micros / MICROS))


class Limiter(Protocol):
    async def hit(self, key: str, limit: Limit) -> Verdict:
        """Count one request for `key` against `limit`."""
        ...


class MemoryLimiter:
    """This process's callers; callers whose bucket is full again are dropped as it grows."""

    def __init__(self) -> None:
        self._tats: dict[str, int] = {}

    async def hit(self, key: str, limit: Limit) -> Verdict:
        now = int(time.monotonic() * MICROS)
        if len(self._tats) > 10_000:
            self._tats = {k: tat for k, tat in self._tats.items() if tat > now}
        verdict, new_tat = decide(self._tats.get(key), now, limit)
        if new_tat is not None:
            self._tats[key] = new_tat
        return verdict


# KEYS[1]: the caller; ARGV: interval and burst (microseconds, requests). Returns
# {allowed, remaining, retry_after_us, reset_us}; the key expires once the bucket is full.
GCRA_SCRIPT = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, 0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.min(burst - 1, math.floor((now - allow_at) / interval)), 0, new_tat - now}
"""


class RedisLimiter:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._script = client.register_script(GCRA_SCRIPT)

    async def hit(self, key: str, limit: Limit) -> Verdict:
        allowed, remaining, retry_us, reset_us = await self._script(
            keys=[f"{REDIS_NAMESPACE}:{key}"], args=[limit.interval_us, limit.burst]
        )
        return Verdict(
            bool(allowed),
            int(remaining),
            _seconds(int(retry_us)) if not allowed else 0,
            _seconds(int(reset_us)),
        )

    async def close(self) -> None:
        await self.client.aclose()


class FallbackLimiter:
    """Redis, or process memory for `retry_after` seconds after Redis failed: a dead Redis
    costs one failed attempt per period, not one per request."""

    def __init__(self, primary: RedisLimiter, retry_after: float = 5.0) -> None:
        self.primary = primary
        self.fallback = MemoryLimiter()
        self.retry_after = retry_after
        self._down_until = 0.0

    async def hit(self, key: str, limit: Limit) -> Verdict:
        if time.monotonic() >= self._down_until:
            try:
                return await self.primary.hit(key, limit)
            except Exception as exc:  # any Redis or network failure: degrade, never fail
                logger.warning(
                    "rate-limit store unreachable (%s); counting in process memory for %.0f s",
                    type(exc).__name__,
                    self.retry_after,
                )
                self._down_until = time.monotonic() + self.retry_after
        return await self.fallback.hit(key, limit)

    async def close(self) -> None:
        await self.primary.close()


def shared_limiter(redis_url: str | None) -> MemoryLimiter | FallbackLimiter:
    if not redis_url:
        return MemoryLimiter()
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return FallbackLimiter(RedisLimiter(client))


def address_of(scope: Scope) -> str:
    client = scope.get("client")
    return f"addr:{client[0] if client else '127.0.0.1'}"


def caller_of(scope: Scope) -> str:
    principal = scope.get("auth")
    if isinstance(principal, Principal):
        return f"key:{principal.key_id}"
    return address_of(scope)


def limit_headers(limit: Limit, verdict: Verdict) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-policy", limit.policy.encode()),
        (b"ratelimit-limit", str(limit.burst).encode()),
        (b"ratelimit-remaining", str(verdict.remaining).encode()),
        (b"ratelimit-reset", str(verdict.reset_s).encode()),
    ]


def too_many(limit: Limit, verdict: Verdict, detail: str) -> TooManyRequestsException:
    return TooManyRequestsException(
        detail=detail,
        headers={
            **{name.decode(): value.decode() for name, value in limit_headers(limit, verdict)},
            "Retry-After": str(verdict.retry_after_s),
        },
    )


class RateLimitMiddleware:
    """ASGI middleware (after authentication, so `scope["auth"]` names the key)."""

    def __init__(self, app: ASGIApp, limit: Limit, limiter: Limiter) -> None:
        self.app = app
        self.limit = limit
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not is_api_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        verdict = await self.limiter.hit(caller_of(scope), self.limit)
        if not verdict.allowed:
            raise too_many(
                self.limit, verdict, "Too many requests for this key; see the RateLimit-* headers."
            )
        headers = limit_headers(self.limit, verdict)

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_limits)
