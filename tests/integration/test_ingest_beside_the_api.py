"""Ingesting into a book that the API has written to: API customers are never overwritten,
only the row that took a held phone is refused, and a re-run that changes nothing leaves
bookings alone."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from credit.modules.ingest.schemas import CustomerRemapping, RejectedRow
from credit.settings import Settings
from tests.ingest_workbooks import customer, loan, small_book
from tests.integration.book import ingest

Client = AsyncTestClient[Litestar]

SOMEONE_ELSE = customer(3, **{"First Name": "Someone", "Last Name": "Else", "Age": 61})


async def book_generation(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            generation = await conn.scalar(text("SELECT generation FROM book_state"))
            return int(generation or 0)
    finally:
        await engine.dispose()


async def test_a_file_row_with_an_api_customers_id_gets_a_new_id(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    await ingest(settings.database_url, *small_book(tmp_path / "v1"))
    registered = await client.post(
        "/api/register",
        json={
            "first_name": "Api",
            "last_name": "Borrower",
            "age": 30,
            "monthly_income": 50_000,
            "phone_number": 9_444_444_444,
        },
    )
    assert registered.json()["customer_id"] == 3
    booked = await client.post(
        "/api/create-loan",
        json={"customer_id": 3, "loan_amount": 100_000, "interest_rate": 12, "tenure": 12},
    )
    assert booked.status_code == 201
    api_loan = booked.json()["loan_id"]
    profile = (await client.get("/api/customers/3")).json()

    files = small_book(
        tmp_path / "v2",
        customers=[customer(1), customer(2), SOMEONE_ELSE],
        loans=[loan(1, 5001), loan(2, 5002), loan(3, 6003)],
    )
    report = await ingest(settings.database_url, *files)
    assert report.customer_remappings == [CustomerRemapping(4, 3, 4)]
    assert (report.customers.inserted, report.customers.updated) == (1, 0)
    assert report.rejected == []
    assert "remapped customer ids: 1" in report.summary()

    assert (await client.get("/api/customers/3")).json() == profile
    assert (await client.get(f"/api/view-loan/{api_loan}")).json()["customer"]["first_name"] == (
        "Api"
    )
    moved = (await client.get("/api/customers/4")).json()
    assert (moved["first_name"], moved["last_name"]) == ("Someone", "Else")
    file_loan = (await client.get("/api/view-loan/6003")).json()
    assert file_loan["customer"]["id"] == 4

    again = await ingest(settings.database_url, *files)
    assert again.customer_remappings == report.customer_remappings
    assert (again.customers.inserted, again.customers.updated) == (0, 0)
    assert (again.loans.inserted, again.loans.updated) == (0, 0)


async def test_only_the_row_that_copied_a_phone_is_rejected(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    await ingest(settings.database_url, *small_book(tmp_path / "v1"))
    copied = small_book(
        tmp_path / "v2",
        customers=[customer(1, **{"Phone Number": 9_000_000_002}), customer(2)],
    )
    report = await ingest(settings.database_url, *copied)
    assert report.rejected == [
        RejectedRow("customers", 2, "Phone Number: already held by customer 2")
    ]
    assert (report.customers.updated, report.customers.unchanged) == (0, 1)
    assert (await client.get("/api/customers/1")).json()["phone_number"] == 9_000_000_001


async def test_a_rerun_that_changes_nothing_keeps_the_book_generation(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    files = small_book(tmp_path / "v1")
    before = await book_generation(settings.database_url)
    await ingest(settings.database_url, *files)
    assert await book_generation(settings.database_url) == before + 1
    await ingest(settings.database_url, *files)
    assert await book_generation(settings.database_url) == before + 1

    changed = small_book(tmp_path / "v2", customers=[customer(1, Age=41), customer(2)])
    await ingest(settings.database_url, *changed)
    assert await book_generation(settings.database_url) == before + 2
