"""Workbooks for ingestion tests: the real files, and small ones with chosen defects.

The real files are read from `../shared/data` and never copied into the repository; variants
are written to a test's temporary directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from tests.conftest import SHARED_DATA

REAL_CUSTOMERS = SHARED_DATA / "customer_data.xlsx"
REAL_LOANS = SHARED_DATA / "loan_data.xlsx"

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


def duplicated_loan_ids() -> set[int]:
    frame = pl.read_excel(REAL_LOANS, engine="calamine")
    return set(frame.filter(pl.col("Loan ID").is_duplicated())["Loan ID"].cast(pl.Int64))
