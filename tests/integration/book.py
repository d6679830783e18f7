"""Seeding a loan history straight into the test database (what ingestion would load)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from credit.clock import FixedClock
from credit.db.database import sqlalchemy_config
from credit.lending.amortization import add_months, installments_due, monthly_installment
from credit.modules.customers.models import Customer
from credit.modules.ingest.schemas import IngestReport
from credit.modules.ingest.service import ingest_workbooks
from credit.modules.loans.models import Loan
from credit.settings import Settings
from tests.conftest import TODAY


@dataclass(frozen=True)
class PastLoan:
    amount: int
    rate: str
    tenure: int
    start: date
    paid_on_time: int | None = None
    recorded_emi: Decimal | None = None
    source_loan_id: int | None = None
    # As ingestion loads it: settled up to the day of loading (the tests' today by default);
    # None seeds it as a booked loan (nothing settled).
    loaded_on: date | None = TODAY


async def seed_loans(database_url: str, customer_id: int, loans: Iterable[PastLoan]) -> list[int]:
    engine = create_async_engine(database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            rows = [
                Loan(
                    customer_id=customer_id,
                    source_loan_id=loan.source_loan_id,
                    loan_amount=Decimal(loan.amount),
                    interest_rate=Decimal(loan.rate),
                    tenure=loan.tenure,
                    monthly_installment=loan.recorded_emi
                    or monthly_installment(Decimal(loan.amount), Decimal(loan.rate), loan.tenure),
                    emis_paid_on_time=loan.paid_on_time,
                    start_date=loan.start,
                    end_date=add_months(loan.start, loan.tenure),
                    loaded_on=loan.loaded_on,
                    installments_settled=(
                        0
                        if loan.loaded_on is None
                        else installments_due(loan.start, loan.tenure, loan.loaded_on)
                    ),
                )
                for loan in loans
            ]
            session.add_all(rows)
            await session.commit()
            return [row.id for row in rows]
    finally:
        await engine.dispose()


async def count_rows(database_url: str) -> tuple[int, int]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            customers = await conn.scalar(select(func.count()).select_from(Customer))
            loans = await conn.scalar(select(func.count()).select_from(Loan))
            return int(customers or 0), int(loans or 0)
    finally:
        await engine.dispose()


async def loaded_as_of(database_url: str) -> tuple[set[date | None], int]:
    """The days the stored loans were loaded as of, and how many installments are settled on
    the loans that started after the earliest of them."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            days = set((await conn.execute(select(Loan.loaded_on).distinct())).scalars())
            first = min((day for day in days if day is not None), default=date.min)
            settled = await conn.scalar(
                select(func.coalesce(func.sum(Loan.installments_settled), 0)).where(
                    Loan.start_date > first
                )
            )
            return days, int(settled or 0)
    finally:
        await engine.dispose()


async def ingest(
    database_url: str, customers: Path, loans: Path, today: date = TODAY
) -> IngestReport:
    """An ingestion on an engine of the app's own config (as a job runs it), then disposed;
    the book is loaded as of `today` (the tests' today by default)."""
    alchemy = sqlalchemy_config(Settings(database_url=database_url, sample_data_dir=None))
    try:
        return await ingest_workbooks(alchemy.get_engine(), customers, loans, FixedClock(today))
    finally:
        await alchemy.get_engine().dispose()
