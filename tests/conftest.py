"""Shared fixtures: the app on both databases, a pinned clock, real PostgreSQL and Redis.

Every integration test that takes `client` runs twice, on SQLite and on the machine's
PostgreSQL. PostgreSQL gets a fresh database per test session, built by the Alembic
migrations (never `create_all`), and dropped at the end. A missing service fails the run.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from credit.app import create_app
from credit.clock import FixedClock
from credit.plugins.migrations import upgrade_database
from credit.settings import Settings

T = TypeVar("T")
TODAY = date(2025, 6, 15)
PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


def in_own_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a private event loop (for sync session fixtures)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"credit_test_{uuid.uuid4().hex[:10]}"
    try:
        in_own_loop(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:  # pragma: no cover - environment failure
        pytest.fail(f"PostgreSQL at {PG_ADMIN_DSN} is required: {exc}")
    url = _sqlalchemy_url(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}")
    upgrade_database(Settings(database_url=url, sample_data_dir=None))
    yield url
    in_own_loop(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "credit.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade_database(Settings(database_url=url, sample_data_dir=None))
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for an empty database of each kind; tables are emptied after each test."""
    url = request.getfixturevalue(f"{request.param}_url")
    yield Settings(database_url=url, sample_data_dir=None, upload_dir=tmp_path / "uploads")
    in_own_loop(empty_tables(url))


async def empty_tables(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        if url.startswith("postgresql"):
            await conn.execute(
                text(
                    "TRUNCATE payments, idempotency_keys, loans, customers RESTART IDENTITY CASCADE"
                )
            )
        else:
            await conn.execute(text("DELETE FROM payments"))
            await conn.execute(text("DELETE FROM idempotency_keys"))
            await conn.execute(text("DELETE FROM loans"))
            await conn.execute(text("DELETE FROM customers"))
    await engine.dispose()


@pytest.fixture
def today() -> date:
    return TODAY


@pytest.fixture
def app(settings: Settings, today: date) -> Litestar:
    return create_app(replace(settings), clock=FixedClock(today))


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client
