"""Workbooks for ingestion tests: the real files, the committed sample, small ones with defects.

The real files are read from `../shared/data` and never copied into the repository. The
committed synthetic book in `data/` has the same quirks (reused Loan IDs across customers,
recorded EMIs that differ from the formula, loans ended in the past), so every test on the
real book has a twin that runs where those files are missing. What a test expects of a book is
read from the file itself here, independently of the ingestion code. Variants are written to a
test's temporary directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from credit.modules.ingest.sample import emi

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
REAL_CUSTOMERS = SHARED_DATA / "customer_data.xlsx"
REAL_LOANS = SHARED_DATA / "loan_data.xlsx"
SAMPLE_CUSTOMERS = REPO / "data" / "customer_data.xlsx"
SAMPLE_LOANS = REPO / "data" / "loan_data.xlsx"


@dataclass(frozen=True)
class Book:
    """A pair of workbooks in the original format, and what is in them."""

    name: str
    customers: Path
    loans: Path

    @cached_property
    def customer_frame(self) -> pl.DataFrame:
        return pl.read_excel(self.customers, engine="calamine")

    @cached_property
    def loan_frame(self) -> pl.DataFrame:
        return pl.read_excel(self.loans, engine="calamine")

    @property
    def customer_rows(self) -> int:
        return self.customer_frame.height

    @property
    def loan_rows(self) -> int:
        return self.loan_frame.height

    def duplicated_loan_ids(self) -> set[int]:
        frame = self.loan_frame.filter(pl.col("Loan ID").is_duplicated())
        return set(frame["Loan ID"].cast(pl.Int64))

    def remapped_rows(self) -> int:
        """Rows whose Loan ID an earlier row already used (a customer never repeats one)."""
        return self.loan_rows - self.loan_frame["Loan ID"].n_unique()

    def first_loan(self) -> dict[str, Any]:
        """The first data row: its Loan ID is the file's first use of that id."""
        return self.loan_frame.row(0, named=True)

    def loan_with_an_off_formula_emi(self) -> dict[str, Any]:
        """A loan, its Loan ID used once, whose recorded EMI is not the formula's."""
        once = self.loan_frame.filter(~pl.col("Loan ID").is_duplicated())
        for row in once.iter_rows(named=True):
            formula = emi(int(row["Loan Amount"]), float(row["Interest Rate"]), int(row["Tenure"]))
            if abs(int(row["Monthly payment"]) - formula) > 1:
                return row
        raise AssertionError(f"{self.name}: every recorded EMI is the formula's")

    def loan_ended_before(self, day: date) -> dict[str, Any]:
        once = self.loan_frame.filter(
            ~pl.col("Loan ID").is_duplicated() & (pl.col("End Date") < day)
        )
        assert once.height, f"{self.name}: no loan ended before {day}"
        return once.row(0, named=True)


SAMPLE_BOOK = Book("sample", SAMPLE_CUSTOMERS, SAMPLE_LOANS)
REAL_BOOK = Book("real", REAL_CUSTOMERS, REAL_LOANS)

CUSTOMER_HEADERS = [
    "Customer ID",
    "First Name",
    "Last Name",
    "Age",
    "Phone Number",
    "Monthly Salary",
    "Approved Limit",
]
LOAN_HEADERS = [
    "Customer ID",
    "Loan ID",
    "Loan Amount",
    "Tenure",
    "Interest Rate",
    "Monthly payment",
    "EMIs paid on Time",
    "Date of Approval",
    "End Date",
]


def write_workbook(path: Path, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """One sheet: numbers as numbers, text as text, dates as date-formatted cells."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Sheet1")
    date_cell = workbook.add_format({"num_format": 14})
    sheet.write_row(0, 0, list(headers))
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, date | datetime):
                sheet.write_datetime(r, c, value, date_cell)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    workbook.close()
    return path


def customer(cid: int, **changes: Any) -> list[Any]:
    values = {
        "Customer ID": cid,
        "First Name": f"First{cid}",
        "Last Name": f"Last{cid}",
        "Age": 40,
        "Phone Number": 9_000_000_000 + cid,
        "Monthly Salary": 50_000,
        "Approved Limit": 1_800_000,
    }
    values.update(changes)
    return [values[h] for h in CUSTOMER_HEADERS]


def loan(customer_id: int, loan_id: int, **changes: Any) -> list[Any]:
    values = {
        "Customer ID": customer_id,
        "Loan ID": loan_id,
        "Loan Amount": 100_000,
        "Tenure": 12,
        "Interest Rate": 10.5,
        "Monthly payment": 8_815,
        "EMIs paid on Time": 12,
        "Date of Approval": date(2020, 1, 31),
        "End Date": date(2021, 1, 31),
    }
    values.update(changes)
    return [values[h] for h in LOAN_HEADERS]


def small_book(
    folder: Path,
    customers: Sequence[Sequence[Any]] | None = None,
    loans: Sequence[Sequence[Any]] | None = None,
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    customer_rows = customers if customers is not None else [customer(1), customer(2)]
    loan_rows = loans if loans is not None else [loan(1, 5001), loan(2, 5002)]
    return (
        write_workbook(folder / "customer_data.xlsx", CUSTOMER_HEADERS, customer_rows),
        write_workbook(folder / "loan_data.xlsx", LOAN_HEADERS, loan_rows),
    )


def real_rows(path: Path) -> list[list[Any]]:
    """The real file's rows as Python values (whole numbers as ints, dates as dates)."""
    frame = pl.read_excel(path, engine="calamine")
    return [list(row) for row in frame.iter_rows()]
