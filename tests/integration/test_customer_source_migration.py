"""Migration 0006 on both databases: customers already in the book are told apart as loaded
from the files or registered through the API."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from credit.db.migrations import upgrade_database
from credit.settings import Settings
from tests.integration.test_servicing_migration import (  # noqa: F401 - fixtures
    CUSTOMERS,
    LOANS,
    _loan,
    engine,
    fresh_url,
)

INGESTED_AT = datetime(2026, 6, 30, 20, 0, tzinfo=UTC)
REGISTERED_AT = datetime(2026, 7, 2, 9, 30, tzinfo=UTC)


def _customer(cid: int, created_at: datetime) -> dict[str, object]:
    return {
        "id": cid,
        "first_name": f"First{cid}",
        "last_name": f"Last{cid}",
        "age": 40,
        "phone_number": 9_000_000_000 + cid,
        "monthly_income": Decimal(100_000),
        "approved_limit": Decimal(3_600_000),
        "created_at": created_at,
    }


async def test_loaded_customers_get_their_file_id(fresh_url: str, engine: AsyncEngine) -> None:  # noqa: F811
    settings = Settings(database_url=fresh_url, sample_data_dir=None)
    upgrade_database(settings, "0005_booking_versions")
    async with engine.begin() as conn:
        await conn.execute(
            insert(CUSTOMERS),
            [
                _customer(1, INGESTED_AT),  # has a loaded loan
                _customer(2, INGESTED_AT),  # no loans, loaded by the same ingestion
                _customer(3, REGISTERED_AT),  # registered, with a booked loan
                _customer(4, REGISTERED_AT),  # registered, no loans
            ],
        )
        await conn.execute(
            insert(LOANS),
            [
                _loan(id=1, customer_id=1, source_loan_id=501, emis_paid_on_time=4),
                _loan(id=2, customer_id=3, source_loan_id=None, emis_paid_on_time=None),
            ],
        )
    upgrade_database(settings)
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(CUSTOMERS.c.id, CUSTOMERS.c.source_customer_id).order_by(CUSTOMERS.c.id)
        )
        assert [tuple(row) for row in rows] == [(1, 1), (2, 2), (3, None), (4, None)]
