"""The rate limiter behind the limits: a burst, then a rate, per caller, shared through Redis;
defaults that never throttle a legitimate integration, and none on the quick start."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from credit.modules.access import rate_limit
from credit.modules.access.rate_limit import (
    FallbackLimiter,
    Limit,
    MemoryLimiter,
    RedisLimiter,
    shared_limiter,
)
from credit.settings import Settings


async def test_defaults_let_a_busy_integration_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """A front end sending all customers through one key: a burst of 1,000 at once, then
    500 a second for as long as it likes (the old default, 600 a minute, refused the 601st)."""
    now = [1000.0]
    monkeypatch.setattr(rate_limit.time, "monotonic", lambda: now[0])
    defaults = Settings(database_url="postgresql+asyncpg://credit@db/credit")
    limit = Limit(defaults.rate_limit_per_second, defaults.rate_limit_burst)
    limiter = MemoryLimiter()
    burst = [await limiter.hit("key:1", limit) for _ in range(1000)]
    assert all(v.allowed for v in burst)
    assert burst[-1].remaining == 0
    refused = await limiter.hit("key:1", limit)
    assert not refused.allowed
    assert refused.retry_after_s == 1
    for _ in range(60):  # a minute at 500 a second: 30,000 requests, none refused
        now[0] += 1
        second = [await limiter.hit("key:1", limit) for _ in range(500)]
        assert all(v.allowed for v in second)
    assert (await limiter.hit("key:2", limit)).allowed  # every caller has its own bucket


async def test_memory_bucket_refills_at_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(rate_limit.time, "monotonic", lambda: now[0])
    limiter = MemoryLimiter()
    limit = Limit(per_second=2, burst=3)
    assert [(await limiter.hit("a", limit)).allowed for _ in range(4)] == [True] * 3 + [False]
    now[0] += 0.5  # one request's worth
    assert [(await limiter.hit("a", limit)).allowed for _ in range(2)] == [True, False]


async def test_redis_counts_are_atomic_across_processes(redis_url: str) -> None:
    key = f"test:{uuid.uuid4().hex}"
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    limiters = [RedisLimiter(client) for client in clients]
    limit = Limit(per_second=0.001, burst=30)  # no refill during the test
    try:
        verdicts = await asyncio.gather(*(limiters[i % 2].hit(key, limit) for i in range(40)))
        assert sum(v.allowed for v in verdicts) == 30
        assert sorted(v.remaining for v in verdicts if v.allowed) == list(range(30))
        assert all(v.retry_after_s > 0 for v in verdicts if not v.allowed)
        assert await clients[0].pttl(f"credit_rate_limit:{key}") > 0  # it expires
    finally:
        await clients[0].delete(f"credit_rate_limit:{key}")
        for limiter in limiters:
            await limiter.close()


async def test_unreachable_redis_degrades_to_memory() -> None:
    limiter = shared_limiter("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert isinstance(limiter, FallbackLimiter)
    limit = Limit(per_second=0.001, burst=2)
    try:
        assert [(await limiter.hit("k", limit)).allowed for _ in range(3)] == [True, True, False]
    finally:
        await limiter.close()


def test_limits_are_off_on_the_quick_start_and_on_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("DATABASE_URL", "RATE_LIMIT_PER_SECOND", "RATE_LIMIT_BURST"):
        monkeypatch.delenv(name, raising=False)
    assert Settings.from_env().rate_limit_per_second == 0
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://credit@db/credit")
    production = Settings.from_env()
    assert production.rate_limit_per_second >= 200
    assert production.rate_limit_burst >= production.rate_limit_per_second
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "50")
    assert Settings.from_env().rate_limit_per_second == 50
