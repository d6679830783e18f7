"""The per-loan cap of the files' on-time count, on both databases: a file's surplus on one
loan hides no missed installment, neither on another loan nor later on the same one. On a
synthetic twin of the real book's customer 260, on the real book itself, and through the
migration that brings loans already loaded under the rule."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import create_async_engine

from credit.app import create_app
from credit.clock import FixedClock
from credit.db.migrations import upgrade_database
from credit.lending.amortization import add_months, installments_due
from credit.settings import Settings
from tests.conftest import TODAY, _admin, _sqlalchemy_url, in_own_loop
from tests.ingest_workbooks import Book, customer, loan, small_book
from tests.integration.book import ingest

# Customer 260 of the real book: three loans, two of them with more installments "paid on
# time" in the file than had fallen due by the day of loading.
TWIN_LOANS = [
    (9996, 600_000, 90, date(2023, 2, 12), 59),
    (1309, 300_000, 90, date(2018, 2, 17), 82),
    (1670, 700_000, 141, date(2020, 9, 9), 111),
]
LATER = TODAY + timedelta(days=100)  # served later, with nothing paid since loading


def expected_on_time_share(loans: list[tuple[date, int, int]], loaded: date, day: date) -> Decimal:
    """Independently of the code: on time = each loan's file count capped at the installments
    due at loading; due = the installments whose due date has passed by `day` (at least those
    settled at loading)."""
    on_time = sum(
        min(paid, installments_due(start, tenure, loaded)) for start, tenure, paid in loans
    )
    due = sum(
        max(
            installments_due(start, tenure, day - timedelta(days=1)),
            installments_due(start, tenure, loaded),
        )
        for start, tenure, _ in loans
    )
    return (Decimal(on_time) / due).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


async def on_time_share(settings: Settings, customer_id: int, day: date) -> Decimal:
    app = create_app(settings, clock=FixedClock(day))
    async with AsyncTestClient(app=app) as client:
        report = (await client.get(f"/api/customers/{customer_id}/credit-score")).json()
    (component,) = [c for c in report["components"] if c["name"] == "paid_on_time"]
    return Decimal(str(component["value"]))


async def test_the_twin_of_customer_260_is_capped_per_loan(
    settings: Settings, tmp_path: Path
) -> None:
    workbooks = small_book(
        tmp_path,
        customers=[customer(260, **{"Monthly Salary": 82_000, "Approved Limit": 1_700_000})],
        loans=[
            loan(
                260,
                loan_id,
                **{
                    "Loan Amount": amount,
                    "Tenure": tenure,
                    "Date of Approval": start,
                    "End Date": add_months(start, tenure),
                    "EMIs paid on Time": paid,
                },
            )
            for loan_id, amount, tenure, start, paid in TWIN_LOANS
        ],
    )
    await ingest(settings.database_url, *workbooks)
    loans = [(start, tenure, paid) for _, _, tenure, start, paid in TWIN_LOANS]
    at_loading = await on_time_share(settings, 260, TODAY)
    later = await on_time_share(settings, 260, LATER)
    # 28 + 82 + 57 = 167 of the 28 + 87 + 57 = 172 installments due, not 252 of 172
    # capped at 1 over all loans together.
    assert at_loading == expected_on_time_share(loans, TODAY, TODAY) == Decimal("0.9709")
    assert later == expected_on_time_share(loans, TODAY, LATER)
    assert later < at_loading < 1  # a silent payer loses on-time points


async def score_report(settings: Settings, customer_id: int, day: date) -> dict[str, Any]:
    app = create_app(settings, clock=FixedClock(day))
    async with AsyncTestClient(app=app) as client:
        report: dict[str, Any] = (
            await client.get(f"/api/customers/{customer_id}/credit-score")
        ).json()
    return report


async def test_customer_260_of_the_real_book_is_capped_per_loan(
    settings: Settings, real_book: Book
) -> None:
    """docs/credit-score.md's example: loaded on 6 Dec 2026, served then and 100 days later."""
    loaded = date(2026, 12, 6)
    frame = real_book.loan_frame.filter(pl.col("Customer ID") == 260)
    loans = [
        (row["Date of Approval"], row["Tenure"], row["EMIs paid on Time"])
        for row in frame.iter_rows(named=True)
    ]
    # The quirk is there: more on time than due at loading on some loan.
    assert any(paid > installments_due(start, tenure, loaded) for start, tenure, paid in loans)
    await ingest(settings.database_url, real_book.customers, real_book.loans, today=loaded)
    for day, share, score in (
        (loaded, "0.9617", 98),
        (loaded + timedelta(days=100), "0.9263", 97),
    ):
        report = await score_report(settings, 260, day)
        (on_time,) = [c for c in report["components"] if c["name"] == "paid_on_time"]
        assert Decimal(str(on_time["value"])) == expected_on_time_share(loans, loaded, day)
        assert Decimal(str(on_time["value"])) == Decimal(share)
        assert report["credit_score"] == score


# --- the migration --------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path, pg_admin_dsn: str) -> Iterator[str]:
    """An empty database of each kind, not yet migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cap.sqlite3'}"
        return
    name = f"credit_cap_{uuid.uuid4().hex[:10]}"
    in_own_loop(_admin(pg_admin_dsn, f'CREATE DATABASE "{name}"'))
    yield _sqlalchemy_url(pg_admin_dsn.rsplit("/", 1)[0] + f"/{name}")
    in_own_loop(_admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_the_migration_brings_loaded_loans_under_the_cap(fresh_url: str) -> None:
    settings = Settings(database_url=fresh_url, sample_data_dir=None)
    upgrade_database(settings, "0007_servicing")
    engine = create_async_engine(fresh_url)
    loaded_on = date(2026, 12, 6)
    customers = sa.table(
        "customers",
        *(sa.column(n) for n in ("id", "first_name", "last_name", "age", "phone_number")),
        sa.column("monthly_income", sa.Numeric(16, 2)),
        sa.column("approved_limit", sa.Numeric(16, 2)),
    )

    def row(loan_id: int, start: date, paid: int | None, loaded: date | None) -> dict[str, Any]:
        return {
            "id": loan_id,
            "customer_id": 260,
            "source_loan_id": None if loaded is None else loan_id,
            "loan_amount": 600_000,
            "tenure": 90,
            "interest_rate": 10,
            "monthly_installment": 9_000,
            "emis_paid_on_time": paid,
            "start_date": start,
            "end_date": add_months(start, 90),
            "loaded_on": loaded,
            "installments_settled": 0 if loaded is None else installments_due(start, 90, loaded),
        }

    rows = [
        row(9996, date(2023, 2, 12), 59, loaded_on),  # 45 due at loading: capped
        row(1309, date(2018, 2, 17), 82, loaded_on),  # 90 due: kept
        row(7001, date(2026, 1, 1), None, None),  # booked through the API
    ]
    loans = sa.table("loans", *(sa.column(name) for name in rows[0]))
    try:
        async with engine.begin() as conn:
            if fresh_url.startswith("sqlite"):
                # Money in the integer units the columns store on SQLite (paise).
                for r in rows:
                    r["loan_amount"] *= 100
                    r["monthly_installment"] *= 100
                    r["interest_rate"] *= 10_000
            await conn.execute(
                sa.insert(customers).values(
                    id=260,
                    first_name="Annie",
                    last_name="Villalba",
                    age=28,
                    phone_number=9836257121,
                    monthly_income=82_000 * (100 if fresh_url.startswith("sqlite") else 1),
                    approved_limit=1_700_000 * (100 if fresh_url.startswith("sqlite") else 1),
                )
            )
            await conn.execute(sa.insert(loans), rows)
        upgrade_database(settings)
        async with engine.connect() as conn:
            capped = dict(
                (await conn.execute(sa.text("SELECT id, on_time_at_load FROM loans"))).all()
            )
    finally:
        await engine.dispose()
    assert capped == {9996: 45, 1309: 82, 7001: None}
