"""The request counter behind the rate limit: one window per caller, shared through Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from credit.modules.access import rate_limit
from credit.modules.access.rate_limit import (
    FallbackCounter,
    MemoryCounter,
    RedisCounter,
    shared_counter,
)


async def test_memory_window_counts_then_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(rate_limit.time, "monotonic", lambda: now[0])
    counter = MemoryCounter(window_s=60)
    assert await counter.hit("a") == (1, 60)
    now[0] += 59.5
    assert await counter.hit("a") == (2, 1)
    assert await counter.hit("b") == (1, 60)  # every caller has its own window
    now[0] += 1
    assert await counter.hit("a") == (1, 60)


async def test_redis_counts_are_atomic_across_processes(redis_url: str) -> None:
    key = f"test:{uuid.uuid4().hex}"
    clients = [Redis.from_url(redis_url) for _ in range(2)]
    counters = [RedisCounter(client, window_s=60) for client in clients]
    try:
        hits = await asyncio.gather(*(counters[i % 2].hit(key) for i in range(40)))
        assert sorted(count for count, _ in hits) == list(range(1, 41))
        assert all(0 < ttl <= 60 for _, ttl in hits)
        assert 0 < await clients[0].ttl(f"credit_rate_limit:{key}") <= 60
    finally:
        await clients[0].delete(f"credit_rate_limit:{key}")
        for counter in counters:
            await counter.close()


async def test_unreachable_redis_degrades_to_memory() -> None:
    counter = shared_counter("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert isinstance(counter, FallbackCounter)
    try:
        assert await counter.hit("k") == (1, 60)
        assert await counter.hit("k") == (2, 60)
    finally:
        await counter.close()
