"""Optimistic booking: a decision is booked only on the book it was read from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import polars as pl
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from credit.db.database import sqlalchemy_config
from credit.modules.customers.service import CUSTOMERS
from credit.modules.ingest.writer import open_book
from credit.modules.loans import booking
from credit.modules.loans.book import CLAIM_AND_INSERT_LOAN
from credit.modules.loans.service import LoanService
from credit.settings import Settings
from tests.integration.book import count_rows
from tests.integration.test_api_loans import application, register

Client = AsyncTestClient[Litestar]
MONEY_AND_RATE = ("loan_amount", "interest_rate", "monthly_installment")

BOOKING_VERSION = select(CUSTOMERS.c.booking_version).where(
    CUSTOMERS.c.id == bindparam("customer_id")
)
# What a competing booking does to the customer's row when it books first.
COMPETING_CLAIM = (
    update(CUSTOMERS)
    .where(CUSTOMERS.c.id == bindparam("customer_id"))
    .values(booking_version=CUSTOMERS.c.booking_version + 1, updated_at=CUSTOMERS.c.updated_at)
    .returning(CUSTOMERS.c.id)
)


@pytest.fixture
async def alchemy(settings: Settings) -> AsyncIterator[SQLAlchemyAsyncConfig]:
    """The test's own config (the app's engine lives on the test client's event loop)."""
    config = sqlalchemy_config(settings)
    try:
        yield config
    finally:
        await config.get_engine().dispose()


@asynccontextmanager
async def loan_service(alchemy: SQLAlchemyAsyncConfig) -> AsyncIterator[LoanService]:
    async with LoanService.new(config=alchemy) as loans:
        yield loans


async def booking_version(engine: AsyncEngine, customer_id: int) -> int:
    async with engine.connect() as conn:
        version = await conn.scalar(BOOKING_VERSION, {"customer_id": customer_id})
    assert version is not None
    return int(version)


async def book(loans: LoanService, customer_id: int, version: Any, today: date) -> Any:
    amount, rate = Decimal(100_000), Decimal(12)
    return await loans.book_loan(customer_id, version, amount, rate, 12, Decimal("8884.88"), today)


def one_loaded_customer(customer_id: int) -> pl.DataFrame:
    """A new customer as the ingestion plan gives it to the writer."""
    return pl.DataFrame(
        {
            "id": [customer_id],
            "source_customer_id": [customer_id],
            "first_name": ["Loaded"],
            "last_name": ["Customer"],
            "age": [40],
            "phone_number": [9_800_000_000 + customer_id],
            "monthly_income": [5_000_000],  # paise, as the reader gives money
            "approved_limit": [180_000_000],
            "is_new": [True],
        }
    )


async def test_a_decision_read_before_an_ingestion_is_not_booked_after_it(
    client: Client, alchemy: SQLAlchemyAsyncConfig, settings: Settings, today: date
) -> None:
    customer_id = await register(client)
    async with loan_service(alchemy) as loans:
        before = (await loans.customer_book(customer_id, today)).version
    async with loan_service(alchemy) as loans:
        async with open_book(alchemy.get_engine()) as ingestion:
            # The ingestion holds the book; the claim waits for it to commit, then must read
            # the new generation (under READ COMMITTED: after its lock wait, not before).
            claim = asyncio.create_task(book(loans, customer_id, before, today))
            await asyncio.sleep(0.3)
            assert not claim.done()
            await ingestion.upsert_customers(one_loaded_customer(customer_id + 1))
        booked = await claim
    assert booked is None
    assert await count_rows(settings.database_url) == (2, 0)
    async with loan_service(alchemy) as loans:
        after = (await loans.customer_book(customer_id, today)).version
        assert (after.customer, after.book) == (before.customer, before.book + 1)
        assert await book(loans, customer_id, after, today) is not None


async def test_a_claim_on_a_version_another_booking_moved_writes_nothing(
    client: Client, alchemy: SQLAlchemyAsyncConfig, settings: Settings, today: date
) -> None:
    customer_id = await register(client)
    async with loan_service(alchemy) as loans:
        read = (await loans.customer_book(customer_id, today)).version
        assert await book(loans, customer_id, read, today) is not None
        assert await book(loans, customer_id, read, today) is None  # the version moved
    assert await count_rows(settings.database_url) == (1, 1)


async def test_a_booking_that_keeps_losing_its_claim_books_under_the_customer_lock(
    client: Client,
    app: Litestar,
    alchemy: SQLAlchemyAsyncConfig,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customer_id = await register(client)
    claims: list[bool] = []
    real_book_loan = LoanService.book_loan
    app_engine = app.plugins.get(SQLAlchemyPlugin).config[0].get_engine()

    async def competed(self: LoanService, *args: Any) -> Any:
        # Another booking for this customer gets in before each optimistic claim.
        if len(claims) < booking.OPTIMISTIC_ATTEMPTS:
            async with app_engine.begin() as conn:
                await conn.execute(COMPETING_CLAIM, {"customer_id": customer_id})
        loan = await real_book_loan(self, *args)
        claims.append(loan is not None)
        return loan

    monkeypatch.setattr(LoanService, "book_loan", competed)
    response = await client.post("/api/create-loan", json=application(customer_id))
    assert response.status_code == 201, response.text
    assert claims == [False] * booking.OPTIMISTIC_ATTEMPTS + [True]
    assert await count_rows(settings.database_url) == (1, 1)
    version = await booking_version(alchemy.get_engine(), customer_id)
    assert version == booking.OPTIMISTIC_ATTEMPTS + 1  # the competitors' and its own


async def test_a_claim_waiting_for_an_ingestion_holds_no_lock_on_loans(postgres_url: str) -> None:
    # An ingestion locks `customers`, then `loans`. A claim that took `loans` first and then
    # waited for `customers` would deadlock with it; it must wait holding nothing on `loans`,
    # also once PostgreSQL runs it from a cached generic plan (after five executions of the
    # statement asyncpg prepared on the connection).
    dsn = postgres_url.replace("+asyncpg", "")
    alchemy = sqlalchemy_config(Settings(database_url=postgres_url, sample_data_dir=None))
    ingestion = await asyncpg.connect(dsn)
    try:
        async with alchemy.get_engine().connect() as booking_conn:
            booking_conn = await booking_conn.execution_options(isolation_level="AUTOCOMMIT")
            driver = (await booking_conn.get_raw_connection()).driver_connection
            customer_id = await ingestion.fetchval(
                "INSERT INTO customers (first_name, last_name, age, phone_number, "
                "monthly_income, approved_limit) VALUES ('A', 'B', 30, 9123456780, 50000, "
                "1800000) RETURNING id"
            )
            generation = await ingestion.fetchval(
                "SELECT coalesce((SELECT generation FROM book_state), 0)"
            )
            now = datetime.now(UTC)

            def args(version: int) -> dict[str, Any]:
                return (
                    {"customer_id": customer_id, "customer_version": version}
                    | {"book_generation": generation, "booked_created_at": now}
                    | {"booked_updated_at": now, "booked_tenure": 12}
                    | {"booked_start_date": date(2025, 1, 1), "booked_end_date": date(2026, 1, 1)}
                    | {f"booked_{name}": Decimal(1) for name in MONEY_AND_RATE}
                )

            for version in range(8):
                claimed = await booking_conn.execute(CLAIM_AND_INSERT_LOAN, args(version))
                assert claimed.one_or_none() is not None
            async with ingestion.transaction():
                # Where an ingestion is between the two tables of its `LOCK TABLE`.
                await ingestion.execute("LOCK TABLE customers IN EXCLUSIVE MODE")
                waiting = asyncio.create_task(booking_conn.execute(CLAIM_AND_INSERT_LOAN, args(8)))
                await asyncio.sleep(0.3)
                held = await ingestion.fetch(
                    "SELECT relation::regclass::text AS name, granted FROM pg_locks "
                    "WHERE pid = $1 AND locktype = 'relation'",
                    driver.get_server_pid(),
                )
                assert not waiting.done()
                assert ("loans", True) not in [(lock["name"], lock["granted"]) for lock in held]
            assert (await waiting).one_or_none() is not None
    finally:
        await ingestion.execute("DELETE FROM loans")
        await ingestion.execute("DELETE FROM customers")
        await ingestion.close()
        await alchemy.get_engine().dispose()
