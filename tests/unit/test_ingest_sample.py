"""The sample generator writes the original format, loads cleanly, and is reproducible."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import fastexcel
import polars as pl

from credit.modules.ingest.plan import ExistingBook, plan_book
from credit.modules.ingest.reader import read_customers, read_loans
from credit.modules.ingest.sample import add_months, emi, write_sample_book
from tests.ingest_workbooks import SAMPLE_BOOK, Book


def column_types(path: Path) -> list[tuple[str, str]]:
    sheet = fastexcel.read_excel(str(path)).load_sheet(0)
    return [(c.name, c.dtype) for c in sheet.available_columns()]


def test_same_sheet_headers_and_cell_types_as_the_real_files(
    tmp_path: Path, real_book: Book
) -> None:
    book = write_sample_book(tmp_path, customers=30, loans=90, seed=1)
    assert fastexcel.read_excel(str(book.loans_path)).sheet_names == ["Sheet1"]
    assert column_types(book.customers_path) == column_types(real_book.customers)
    assert column_types(book.loans_path) == column_types(real_book.loans)


def test_the_committed_sample_is_what_the_generator_writes(tmp_path: Path) -> None:
    """`data/` is `credit sample-data` with its defaults, so it has every quirk it promises."""
    book = write_sample_book(tmp_path, customers=200, loans=600, seed=42)
    assert book.customers_path.read_bytes() == SAMPLE_BOOK.customers.read_bytes()
    assert book.loans_path.read_bytes() == SAMPLE_BOOK.loans.read_bytes()


def test_the_sample_has_the_real_books_quirks() -> None:
    """Reused Loan IDs across customers, recorded EMIs off the formula, loans ended long ago."""
    loans = SAMPLE_BOOK.loan_frame
    reused = loans.filter(pl.col("Loan ID").is_duplicated())
    assert reused.height > 0
    assert reused.group_by("Loan ID").agg(pl.col("Customer ID").n_unique() > 1)["Customer ID"].all()
    off = [
        row
        for row in loans.iter_rows(named=True)
        if abs(
            row["Monthly payment"]
            - emi(int(row["Loan Amount"]), float(row["Interest Rate"]), int(row["Tenure"]))
        )
        > 1
    ]
    assert 0.2 < len(off) / loans.height < 0.5
    assert loans.filter(pl.col("End Date") < date(2024, 1, 1)).height > loans.height / 4


def test_generated_book_loads_without_rejections_and_exercises_remapping(tmp_path: Path) -> None:
    book = write_sample_book(tmp_path, customers=50, loans=300, seed=3)
    customers, loans = read_customers(book.customers_path), read_loans(book.loans_path)
    assert (customers.valid.height, customers.rejected.height) == (50, 0)
    assert (loans.valid.height, loans.rejected.height) == (300, 0)
    plan = plan_book(customers, loans, ExistingBook.empty())
    assert plan.remappings.height > 0
    assert loans.valid["tenure"].is_between(3, 180).all()
    assert loans.valid["interest_rate"].is_between(80_000, 180_000).all()
    assert loans.valid["customer_id"].is_in(customers.valid["id"].implode()).all()
    assert loans.valid.filter(pl.col("end_date") <= pl.col("start_date")).height == 0


def test_same_seed_same_bytes_other_seed_other_book(tmp_path: Path) -> None:
    first = write_sample_book(tmp_path / "a", customers=20, loans=40, seed=9)
    second = write_sample_book(tmp_path / "b", customers=20, loans=40, seed=9)
    third = write_sample_book(tmp_path / "c", customers=20, loans=40, seed=10)
    assert first.loans_path.read_bytes() == second.loans_path.read_bytes()
    assert first.loans_path.read_bytes() != third.loans_path.read_bytes()


def test_end_dates_are_clamped_to_the_month_end() -> None:
    assert add_months(date(2020, 1, 31), 1) == date(2020, 2, 29)
    assert add_months(date(2021, 1, 31), 13) == date(2022, 2, 28)
    assert add_months(date(2019, 11, 15), 2) == date(2020, 1, 15)
