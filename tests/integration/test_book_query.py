"""The aggregate SQL behind credit decisions agrees with the Python loan arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from credit.db.database import sqlalchemy_config
from credit.lending.amortization import add_months, installments_due
from credit.modules.customers.models import Customer
from credit.modules.loans.service import LoanService
from credit.settings import Settings
from tests.integration.book import PastLoan, seed_loans

STARTS = [
    date(2024, 1, 31),
    date(2024, 2, 29),
    date(2024, 3, 30),
    date(2023, 12, 15),
    date(2025, 2, 28),
]
TODAYS = [
    date(2024, 2, 28),  # not month end in a leap year
    date(2024, 2, 29),  # month end: 31 Jan + 1 month is due today
    date(2024, 4, 29),
    date(2024, 4, 30),
    date(2025, 2, 27),
    date(2025, 2, 28),
    date(2025, 6, 15),
    date(2030, 1, 1),
]


@pytest.mark.parametrize("today", TODAYS)
async def test_installments_due_in_sql_match_python(settings: Settings, today: date) -> None:
    engine = create_async_engine(settings.database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            customer = Customer(
                first_name="Book",
                last_name="Query",
                age=40,
                phone_number=9_200_000_000,
                monthly_income=Decimal(100_000),
                approved_limit=Decimal(3_600_000),
            )
            session.add(customer)
            await session.commit()
            # Loaded on the day asked about: the SQL month arithmetic settles what is due by then.
            loans = [
                PastLoan(10_000, "12", 18, start, paid_on_time=0, loaded_on=today)
                for start in STARTS
            ]
            await seed_loans(settings.database_url, customer.id, loans)
    finally:
        await engine.dispose()
    # Through the app's own service on the app's own config.
    alchemy = sqlalchemy_config(settings)
    try:
        async with LoanService.new(config=alchemy) as loans:
            book = await loans.customer_book(customer.id, today)
    finally:
        await alchemy.get_engine().dispose()
    assert book.history.emis_due == sum(installments_due(s, 18, today) for s in STARTS)
    current = [s for s in STARTS if add_months(s, 18) > today]
    assert book.history.current_loans_amount == 10_000 * len(current)
    assert book.history.loans_this_year == sum(
        1 for s in STARTS if s.year == today.year and s <= today
    )
