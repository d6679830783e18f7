"""Reading the bank's file whole: CSV (UTF-8, a header row) or an xlsx workbook (first sheet),
columns `Reference`, `Customer ID`, `Loan ID`, `Amount`, `Paid On`.

Polars reads every cell as text (CSV) or as the workbook's cells (fastexcel), and the whole
columns are validated at once: a row with a value that is not what its column needs is
rejected with its row number, reference and reason; the others come back typed, in file
order. A file that is neither CSV nor xlsx, lacks a column or has no data rows fails whole.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec
import polars as pl

from credit.modules.collections.schemas import CollectionsFileError, RejectedRow

COLUMNS = {
    "Reference": "reference",
    "Customer ID": "customer_id",
    "Loan ID": "loan_id",
    "Amount": "amount",
    "Paid On": "paid_on",
}
ZIP_MAGIC = b"PK\x03\x04"
MAX_ID = 2**53 - 1


class CollectedRow(msgspec.Struct, frozen=True):
    row: int
    reference: str
    customer_id: int
    loan_id: int
    amount: Decimal
    paid_on: date


class CollectionsFile(msgspec.Struct):
    rows: int
    valid: list[CollectedRow]
    rejected: list[RejectedRow]


def read_collections(path: Path) -> CollectionsFile:
    content = path.read_bytes()
    frame = _xlsx(content) if content.startswith(ZIP_MAGIC) else _csv(content)
    missing = [name for name in COLUMNS if name not in frame.columns]
    if missing:
        raise CollectionsFileError(f"the file lacks the column(s) {', '.join(missing)}")
    if frame.height == 0:
        raise CollectionsFileError("the file has no data rows")
    frame = frame.select(
        [pl.col(name).cast(pl.String).str.strip_chars().alias(key) for name, key in COLUMNS.items()]
    ).with_row_index("row", offset=2)
    return _validate(frame)


def _csv(content: bytes) -> pl.DataFrame:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CollectionsFileError("the file is neither an xlsx workbook nor UTF-8 CSV") from exc
    try:
        return pl.read_csv(io.StringIO(text), infer_schema=False, raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        raise CollectionsFileError(f"the file is not readable CSV: {exc}") from exc


def _xlsx(content: bytes) -> pl.DataFrame:
    try:
        frame = pl.read_excel(io.BytesIO(content), engine="calamine", sheet_id=1)
    except Exception as exc:  # fastexcel's errors have no common base
        raise CollectionsFileError(f"the file is not a readable xlsx workbook: {exc}") from exc
    # Date cells come as dates (or datetimes at midnight): their day, as the CSV writes it.
    return frame.with_columns(
        pl.col(column).dt.date()
        for column, dtype in frame.schema.items()
        if dtype in (pl.Datetime, pl.Date) or isinstance(dtype, pl.Datetime)
    )


def _validate(frame: pl.DataFrame) -> CollectionsFile:
    """Whole columns at once: each column's check is a Polars expression; a row's first
    failing check is its reason."""
    reference = pl.col("reference")
    customer = pl.col("customer_id").str.to_integer(strict=False)
    loan = pl.col("loan_id").str.to_integer(strict=False)
    # An amount as written: digits with at most 2 decimals (a float cell's text, 5000.0, too).
    amount_text = pl.col("amount").str.replace(r"\.0+$", "")
    # The whole cell is the date: `2026-12-01junk` is no date (an xlsx date cell arrives as
    # its date's text).
    written = pl.col("paid_on").str.strip_chars()
    paid_on = (
        pl.when(written.str.contains(r"^\d{4}-\d{2}-\d{2}$"))
        .then(written.str.to_date("%Y-%m-%d", strict=False))
        .otherwise(None)
    )
    checks = [
        (
            reference.is_null() | ~reference.str.contains(r"^[\x21-\x7E]{1,64}$"),
            "Reference must be 1-64 visible ASCII characters",
        ),
        (
            customer.is_null() | (customer < 1) | (customer > MAX_ID),
            "Customer ID is not a positive whole number",
        ),
        (loan.is_null() | (loan < 1) | (loan > MAX_ID), "Loan ID is not a positive whole number"),
        (
            amount_text.is_null() | ~amount_text.str.contains(r"^\d{1,11}(\.\d{1,2})?$"),
            "Amount must be a number more than 0 with at most 2 decimals",
        ),
        (paid_on.is_null(), "Paid On is not a date (YYYY-MM-DD)"),
    ]
    reason: Any = pl.when(checks[0][0]).then(pl.lit(checks[0][1]))
    for failed, text in checks[1:]:
        reason = reason.when(failed).then(pl.lit(text))
    checked = frame.with_columns(
        reason.otherwise(None).alias("reason"),
        customer.alias("customer_number"),
        loan.alias("loan_number"),
        amount_text.alias("amount_text"),
        paid_on.alias("paid_on_date"),
    )
    rejected = [
        RejectedRow(row["row"], row["reference"], row["reason"])
        for row in checked.filter(pl.col("reason").is_not_null()).iter_rows(named=True)
    ]
    valid: list[CollectedRow] = []
    for row in checked.filter(pl.col("reason").is_null()).iter_rows(named=True):
        try:
            amount = Decimal(row["amount_text"])
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            rejected.append(RejectedRow(row["row"], row["reference"], "Amount is not a number"))
            continue
        if amount <= 0:
            rejected.append(
                RejectedRow(
                    row["row"],
                    row["reference"],
                    "Amount must be a number more than 0 with at most 2 decimals",
                )
            )
            continue
        valid.append(
            CollectedRow(
                row=row["row"],
                reference=row["reference"],
                customer_id=row["customer_number"],
                loan_id=row["loan_number"],
                amount=amount.quantize(Decimal("0.01")),
                paid_on=row["paid_on_date"],
            )
        )
    rejected.sort(key=lambda r: r.row)
    return CollectionsFile(rows=frame.height, valid=valid, rejected=rejected)
