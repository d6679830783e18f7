"""Ingesting workbooks into SQLite and PostgreSQL: the real book, re-runs, rejections, failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import polars as pl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from credit.modules.ingest import writer
from credit.modules.ingest.schemas import IngestError, RejectedRow
from credit.modules.ingest.writer import fields, pgcopy, postgres
from credit.modules.loans.models import Loan
from credit.settings import Settings
from tests.conftest import empty_tables
from tests.ingest_workbooks import (
    Book,
    customer,
    loan,
    small_book,
    write_workbook,
)
from tests.integration.book import count_rows, ingest

Client = AsyncTestClient[Litestar]


async def test_whole_book_loads_every_row_and_a_rerun_changes_nothing(
    client: Client, settings: Settings, book: Book, today: date
) -> None:
    rows = (book.customer_rows, book.loan_rows)
    first = await ingest(settings.database_url, book.customers, book.loans)
    assert (first.customers.inserted, first.loans.inserted) == rows
    assert first.rejected == []
    assert len(first.remappings) == book.remapped_rows() > 0
    assert {r.source_loan_id for r in first.remappings} == book.duplicated_loan_ids()
    assert await count_rows(settings.database_url) == rows

    again = await ingest(settings.database_url, book.customers, book.loans)
    assert (again.customers.inserted, again.customers.updated, again.customers.unchanged) == (
        0,
        0,
        book.customer_rows,
    )
    assert (again.loans.inserted, again.loans.updated, again.loans.unchanged) == (
        0,
        0,
        book.loan_rows,
    )
    assert again.remappings == first.remappings
    assert await count_rows(settings.database_url) == rows

    # Values are kept exactly as the file gives them: the first data row, a recorded EMI that
    # is not the formula's, a loan that ended in the past.
    for row in (
        book.first_loan(),
        book.loan_with_an_off_formula_emi(),
        book.loan_ended_before(today),
    ):
        stored = (await client.get(f"/api/view-loan/{row['Loan ID']}")).json()
        assert stored["customer"]["id"] == row["Customer ID"]
        assert (stored["loan_amount"], stored["interest_rate"]) == (
            row["Loan Amount"],
            row["Interest Rate"],
        )
        assert stored["tenure"] == row["Tenure"]
        assert await recorded_emi(settings.database_url, row["Loan ID"]) == Decimal(
            row["Monthly payment"]
        )
        # view-loan shows the loan's EMI from now on, as its statement does: the file's for a
        # loan with installments left, 0 for one that ended before it was loaded.
        statement = await client.get(f"/api/view-statement/{row['Customer ID']}/{row['Loan ID']}")
        assert stored["monthly_installment"] == statement.json()["monthly_installment"]
        if stored["status"] == "current":
            assert stored["monthly_installment"] == row["Monthly payment"]
    ended = book.loan_ended_before(today)
    current = (await client.get(f"/api/view-loans/{ended['Customer ID']}")).json()
    assert ended["Loan ID"] not in {loan["loan_id"] for loan in current}
    remapped = first.remappings[0]
    moved = (await client.get(f"/api/view-loan/{remapped.loan_id}")).json()
    assert moved["customer"]["id"] == remapped.customer_id

    registered = await client.post(
        "/api/register",
        json={
            "first_name": "New",
            "last_name": "Borrower",
            "age": 30,
            "monthly_income": 50_000,
            "phone_number": 9_123_456_789,
        },
    )
    assert registered.status_code == 201
    assert registered.json()["customer_id"] == book.customer_frame["Customer ID"].max() + 1


async def test_a_changed_row_updates_its_record(settings: Settings, tmp_path: Path) -> None:
    await ingest(settings.database_url, *small_book(tmp_path / "v1"))
    changed = small_book(
        tmp_path / "v2",
        customers=[customer(1), customer(2, **{"Monthly Salary": 60_000})],
        loans=[loan(1, 5001), loan(2, 5002, **{"EMIs paid on Time": 11})],
    )
    report = await ingest(settings.database_url, *changed)
    assert (report.customers.updated, report.customers.unchanged) == (1, 1)
    assert (report.loans.updated, report.loans.unchanged, report.loans.inserted) == (1, 1, 0)


async def test_bad_rows_are_rejected_with_row_and_reason_and_the_rest_loads(
    settings: Settings, tmp_path: Path
) -> None:
    paths = small_book(
        tmp_path,
        customers=[customer(1), customer(2, Age="old")],
        loans=[loan(1, 10), loan(9, 11), loan(2, 12), loan(1, 13, Tenure=2.5)],
    )
    report = await ingest(settings.database_url, *paths)
    assert report.rejected == [
        RejectedRow("customers", 3, "Age: not a whole number"),
        RejectedRow("loans", 3, "Customer ID: no customer 9 in the files loaded"),
        RejectedRow("loans", 4, "Customer ID: no customer 2 in the files loaded"),
        RejectedRow("loans", 5, "Tenure: not a whole number"),
    ]
    assert (report.customers.rejected, report.loans.rejected) == (1, 3)
    assert await count_rows(settings.database_url) == (1, 1)


@pytest.mark.parametrize("defect", ["missing column", "not a workbook", "empty sheet"])
async def test_a_broken_file_fails_and_writes_nothing(
    settings: Settings, tmp_path: Path, defect: str
) -> None:
    customers, loans = small_book(tmp_path)
    if defect == "missing column":
        write_workbook(loans, ["Customer ID", "Loan ID"], [[1, 5001]])
    elif defect == "not a workbook":
        loans.write_bytes(b"PK\x03\x04 not really a zip")
    else:
        write_workbook(loans, [], [])
    with pytest.raises(IngestError) as failure:
        await ingest(settings.database_url, customers, loans)
    assert "loans file" in str(failure.value)
    assert await count_rows(settings.database_url) == (0, 0)


async def test_a_crash_mid_write_leaves_the_database_as_it_was(
    settings: Settings, book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*_: object) -> int:
        raise RuntimeError("disk on fire")

    # The customers are already written when the loans step blows up.
    monkeypatch.setattr(writer.PostgresBook, "upsert_loans", crash)
    monkeypatch.setattr(writer.SqliteBook, "upsert_loans", crash)
    with pytest.raises(RuntimeError, match="disk on fire"):
        await ingest(settings.database_url, book.customers, book.loans)
    assert await count_rows(settings.database_url) == (0, 0)


async def test_bulk_rebuild_path_keeps_indexes_and_foreign_keys(
    postgres_url: str, book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL only: a big first load drops and re-creates the secondary structures."""
    monkeypatch.setattr(postgres, "BULK_REBUILD_MIN_ROWS", 1)
    statements: list[str] = []
    run = writer.PostgresBook._run_ddl

    async def recorded(self: writer.PostgresBook, sql: str) -> None:
        statements.append(sql)
        await run(self, sql)

    monkeypatch.setattr(writer.PostgresBook, "_run_ddl", recorded)
    try:
        # Both tables are empty: each goes straight in by COPY, without staging or MERGE.
        report = await ingest(postgres_url, book.customers, book.loans)
        first_load = list(statements)
        assert (report.customers.inserted, report.loans.inserted) == (
            book.customer_rows,
            book.loan_rows,
        )
        indexes, foreign_keys, referring = await loan_indexes_and_foreign_keys(postgres_url)
        first = book.first_loan()
        stored = await stored_loan(postgres_url, first["Loan ID"])
        # A rerun goes through staging and MERGE: it finds every value already as it would
        # have written it.
        again = await ingest(postgres_url, book.customers, book.loans)
    finally:
        await empty_tables(postgres_url)
    assert stored == (
        Decimal(first["Loan Amount"]).quantize(Decimal("0.01")),
        Decimal(str(first["Interest Rate"])).quantize(Decimal("0.0001")),
        Decimal(first["Monthly payment"]).quantize(Decimal("0.01")),
        first["Customer ID"],
    )
    assert (again.customers.inserted, again.customers.updated) == (0, 0)
    assert (again.loans.inserted, again.loans.updated, again.loans.unchanged) == (
        0,
        0,
        book.loan_rows,
    )
    assert indexes == {"pk_loans", "uq_loans_customer_id_source_loan_id"}
    assert foreign_keys == ["fk_loans_customer_id_customers"]
    # Each empty table's primary key went too, with the other tables' keys to it, and each
    # was built again once its rows were in.
    for table, key, owner, reference in (
        ("customers", "pk_customers", "loans", "fk_loans_customer_id_customers"),
        ("customers", "pk_customers", "decisions", "fk_decisions_customer_id_customers"),
        ("loans", "pk_loans", "payments", "fk_payments_loan_id_loans"),
        ("loans", "pk_loans", "decisions", "fk_decisions_loan_id_loans"),
    ):
        dropped = first_load.index(f'ALTER TABLE {owner} DROP CONSTRAINT "{reference}"')
        assert first_load.index(f'ALTER TABLE {table} DROP CONSTRAINT "{key}"') > dropped
        rebuilt = [
            i
            for i, sql in enumerate(first_load)
            if sql.startswith(f'ALTER TABLE {table} ADD CONSTRAINT "{key}" PRIMARY KEY')
        ]
        restored = [
            i
            for i, sql in enumerate(first_load)
            if sql.startswith(f'ALTER TABLE {owner} ADD CONSTRAINT "{reference}" FOREIGN KEY')
        ]
        assert rebuilt
        assert restored
        assert rebuilt[-1] < restored[-1]
    assert sorted(referring) == [
        "fk_classification_periods_loan_id_loans",
        "fk_decisions_loan_id_loans",
        "fk_loan_classifications_loan_id_loans",
        "fk_payments_loan_id_loans",
    ]


async def recorded_emi(url: str, loan_id: int) -> Decimal:
    """The loan's `Monthly payment` as stored (read through the column's own type)."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(Loan.monthly_installment).where(Loan.id == loan_id)
            return Decimal((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def stored_loan(url: str, loan_id: int) -> tuple[Any, ...]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            row = await conn.execute(
                text(
                    "SELECT loan_amount, interest_rate, monthly_installment, customer_id "
                    "FROM loans WHERE id = :id"
                ),
                {"id": loan_id},
            )
            return tuple(row.one())
    finally:
        await engine.dispose()


async def loan_indexes_and_foreign_keys(url: str) -> tuple[set[str], list[str], list[str]]:
    """The loans' indexes, their foreign keys, and the foreign keys that refer to them."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            indexes = await conn.scalars(
                text("SELECT indexname FROM pg_indexes WHERE tablename = 'loans'")
            )
            foreign_keys = await conn.scalars(
                text(
                    "SELECT conname FROM pg_constraint "
                    "WHERE conrelid = 'loans'::regclass AND contype = 'f'"
                )
            )
            referring = await conn.scalars(
                text(
                    "SELECT conname FROM pg_constraint "
                    "WHERE confrelid = 'loans'::regclass AND contype = 'f'"
                )
            )
            return set(indexes.all()), list(foreign_keys.all()), list(referring.all())
    finally:
        await engine.dispose()


async def test_a_binary_first_load_stores_exactly_what_the_text_path_stores(
    postgres_url: str, book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL only: the loans of a big first load go in by binary COPY; every stored value,
    as PostgreSQL prints it, is the one the CSV path stores."""
    monkeypatch.setattr(postgres, "BULK_REBUILD_MIN_ROWS", 1)
    monkeypatch.setattr(pgcopy, "BINARY_CHUNK_ROWS", 100)  # several chunks of the loans
    formats: list[tuple[str, str]] = []
    copy = postgres.asyncpg.Connection.copy_to_table

    async def recording_copy(self: Any, table: str, **kwargs: Any) -> str:
        formats.append((table, kwargs["format"]))
        return await copy(self, table, **kwargs)

    monkeypatch.setattr(postgres.asyncpg.Connection, "copy_to_table", recording_copy)
    try:
        await ingest(postgres_url, book.customers, book.loans)
        binary = await loans_as_text(postgres_url)
        await empty_tables(postgres_url)

        async def no_binary(*_: object) -> None:
            return None

        monkeypatch.setattr(writer.PostgresBook, "_binary_layout", no_binary)
        await ingest(postgres_url, book.customers, book.loans)
        text_path = await loans_as_text(postgres_url)
    finally:
        await empty_tables(postgres_url)
    binary_run, text_run = formats[:2], formats[2:]
    assert binary_run == [("customers", "csv"), ("loans", "binary")]
    assert text_run == [("customers", "csv"), ("loans", "csv")]
    assert len(binary) == book.loan_rows
    assert binary == text_path


@pytest.mark.parametrize(
    ("column", "values"),
    [
        # numeric(16,2) in paise: zero, one paisa, every digit group, the largest the column takes
        ("loan_amount", [0, 1, 99, 100, 10_000, 123_456_789_012, 10**16 - 1]),
        # numeric(7,4) in 1/10,000 %: zero, the smallest step, 8.2 %, 100 %, the largest
        ("interest_rate", [0, 1, 82_000, 1_000_000, 10**7 - 1]),
    ],
)
async def test_binary_numerics_are_exact_at_every_digit_group(
    postgres_url: str, column: str, values: list[int]
) -> None:
    scale = 2 if column == "loan_amount" else 4
    frame = pl.DataFrame({column: values}, schema={column: pl.Int64})
    async with postgres_book(postgres_url) as (book, copier):
        await copier.execute(f"CREATE TEMPORARY TABLE t AS SELECT {column} FROM loans LIMIT 0")
        layout = await book._binary_layout("t", (column,), frame)
        assert layout is not None
        await copier.copy_to_table("t", source=pgcopy.binary_stream(layout, frame), format="binary")
        stored = [r[0] for r in await copier.fetch(f"SELECT {column}::text FROM t")]
        await copier.execute("DROP TABLE t")
    assert stored == [str(Decimal(v).scaleb(-scale)) for v in values]


@pytest.mark.parametrize(
    "frame",
    [
        pl.DataFrame({"loan_amount": [1, None]}, schema={"loan_amount": pl.Int64}),
        pl.DataFrame({"loan_amount": [1, -1]}, schema={"loan_amount": pl.Int64}),
        pl.DataFrame({"loan_amount": [10**16]}, schema={"loan_amount": pl.Int64}),
        pl.DataFrame({"tenure": [1, 40_000]}, schema={"tenure": pl.Int64}),
        pl.DataFrame({"first_name": ["Asha"]}),
    ],
    ids=["null", "negative", "too large", "beyond smallint", "text column"],
)
async def test_what_binary_copy_cannot_carry_goes_as_text(
    postgres_url: str, frame: pl.DataFrame
) -> None:
    """A null, a value the column would refuse or a text column: the CSV path takes the load,
    so PostgreSQL reports out-of-range values itself."""
    table = "customers" if "first_name" in frame.columns else "loans"
    async with postgres_book(postgres_url) as (book, _):
        layout = await book._binary_layout(table, tuple(frame.columns), frame)
    assert layout is None


@asynccontextmanager
async def postgres_book(url: str) -> AsyncIterator[tuple[writer.PostgresBook, asyncpg.Connection]]:
    """A writer on an engine connection in a transaction, with its driver connection."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn, conn.begin():
            raw = await conn.get_raw_connection()
            yield writer.PostgresBook(conn, raw.driver_connection), raw.driver_connection
    finally:
        await engine.dispose()


async def loans_as_text(url: str) -> list[tuple[str, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            columns = ", ".join(f"{f}::text" for f in fields.LOAN_FIELDS)
            rows = await conn.execute(text(f"SELECT {columns} FROM loans ORDER BY id"))
            return [tuple(row) for row in rows]
    finally:
        await engine.dispose()
