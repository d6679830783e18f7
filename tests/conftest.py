"""Shared fixtures: the app on both databases, a pinned clock, real PostgreSQL and Redis.

Every integration test that takes `client` runs twice, on SQLite and on PostgreSQL.
PostgreSQL gets a fresh database per test session (per xdist worker), built by the Alembic
migrations (never `create_all`), and dropped at the end. Where the servers are comes from
`tests/services.py`: the configured ones, or private ones the session starts itself. The
lender's real workbooks are read from `../shared/data`; where they are missing, the tests that
need them skip, naming the path (under `CI=true` they fail instead).
"""

from __future__ import annotations

import asyncio
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
from credit.db.migrations import upgrade_database
from credit.settings import Settings
from tests import services
from tests.ingest_workbooks import REAL_BOOK, SAMPLE_BOOK, Book

T = TypeVar("T")
TODAY = date(2025, 6, 15)


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller found or started them
        services.install(services.Services.from_dict(workerinput["credit_services"]))
    else:
        services.install(services.provide())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    node.workerinput["credit_services"] = services.current().as_dict()


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None:
        services.current().stop()


def pytest_report_header(config: pytest.Config) -> list[str]:
    found = services.current()
    return [
        f"{s.name}: {s.address or 'none'}"
        + (" (started by this session)" if s.started else "")
        + (f" ({s.problem})" if s.problem else "")
        for s in (found.postgres, found.redis)
    ]


def _needed(service: services.Service) -> str:
    if service.address is not None:
        return service.address
    if services.in_ci():
        pytest.fail(f"{service.name} is required under CI=true: {service.problem}")
    pytest.skip(f"no {service.name}: {service.problem}")


@pytest.fixture(scope="session")
def pg_admin_dsn() -> str:
    """libpq DSN of a PostgreSQL superuser connection (database `postgres`)."""
    return _needed(services.current().postgres)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _needed(services.current().redis)


@pytest.fixture(scope="session")
def real_book() -> Book:
    """The lender's real workbooks from `../shared/data`."""
    for path in (REAL_BOOK.customers, REAL_BOOK.loans):
        if not path.is_file():
            if services.in_ci():
                pytest.fail(f"the real workbook {path} is missing (required under CI=true)")
            pytest.skip(f"needs the real workbook {path} (missing)")
    return REAL_BOOK


@pytest.fixture(scope="session", params=["real", "sample"])
def book(request: pytest.FixtureRequest) -> Book:
    """Each test on a whole book runs on the real one and on its committed synthetic twin."""
    if request.param == "real":
        real: Book = request.getfixturevalue("real_book")
        return real
    return SAMPLE_BOOK


def _sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


def in_own_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a private event loop (for sync session fixtures)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admin(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url(pg_admin_dsn: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"credit_test_{uuid.uuid4().hex[:10]}"
    try:
        in_own_loop(_admin(pg_admin_dsn, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:  # pragma: no cover - environment failure
        pytest.fail(f"PostgreSQL at {pg_admin_dsn} is required: {exc}")
    url = _sqlalchemy_url(pg_admin_dsn.rsplit("/", 1)[0] + f"/{name}")
    upgrade_database(Settings(database_url=url, sample_data_dir=None))
    yield url
    in_own_loop(_admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
                    "TRUNCATE portfolio_days, closed_days, classification_periods, "
                    "loan_classifications, payments, decisions, idempotency_keys, loans, "
                    "customers RESTART IDENTITY CASCADE"
                )
            )
        else:
            for table in (
                "portfolio_days",
                "closed_days",
                "classification_periods",
                "loan_classifications",
            ):
                await conn.execute(text(f"DELETE FROM {table}"))
            await conn.execute(text("DELETE FROM payments"))
            await conn.execute(text("DELETE FROM decisions"))
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
