"""Reading and validating the two workbooks, whole columns at a time (Polars + fastexcel).

A sheet is read once into Polars; every check is a column expression, never a Python loop
over rows. What comes out is a frame of valid rows in the units the database stores (money as
integer paise, rates as integer 1/10,000 %, dates as dates) plus a frame of rejected rows with
their Excel row number and reason. A file that is not a workbook, a sheet with missing or
unknown columns, or a sheet without data rows raises `IngestError`: nothing is loaded then.
Before the reader opens a file, `workbook.check_workbook` bounds what reading it can cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import fastexcel
import polars as pl

from credit.ids import MAX_FILE_ID
from credit.modules.customers.api import INVISIBLE, MAX_NAME_LENGTH
from credit.modules.ingest.schemas import IngestError, Sheet
from credit.modules.ingest.workbook import WorkbookLimits, check_workbook

ROW = "excel_row"
REASON = "reason"
# Excel shows the header as row 1, so the first data row is row 2.
FIRST_DATA_ROW = 2
# A float read from Excel is "whole" (or has whole paise) when it is this close to one.
TOLERANCE = 1e-6


class Kind(Enum):
    # The value reads "<header>: not <value>" in a rejection. A rejection names the column
    # and the problem, never the cell: cells hold phone numbers and salaries.
    INTEGER = "a whole number"
    MONEY = "an amount with at most 2 decimals"  # rupees -> integer paise
    RATE = "a rate with at most 4 decimals"  # percent -> integer 1/10,000 %
    TEXT = "text"
    DATE = "a date"


@dataclass(frozen=True)
class Column:
    header: str  # as written in the workbook
    name: str  # our column name
    kind: Kind
    low: float | None = None
    high: float | None = None


CUSTOMER_COLUMNS = (
    Column("Customer ID", "id", Kind.INTEGER, 1, MAX_FILE_ID),
    Column("First Name", "first_name", Kind.TEXT),
    Column("Last Name", "last_name", Kind.TEXT),
    Column("Age", "age", Kind.INTEGER, 18, 120),
    Column("Phone Number", "phone_number", Kind.INTEGER, 1_000_000_000, 9_999_999_999),
    Column("Monthly Salary", "monthly_income", Kind.MONEY, 0.01, 1e9),
    Column("Approved Limit", "approved_limit", Kind.MONEY, 0, 1e12),
)

LOAN_COLUMNS = (
    Column("Customer ID", "customer_id", Kind.INTEGER, 1, MAX_FILE_ID),
    Column("Loan ID", "source_loan_id", Kind.INTEGER, 1, MAX_FILE_ID),
    Column("Loan Amount", "loan_amount", Kind.MONEY, 0.01, 1e10),
    Column("Tenure", "tenure", Kind.INTEGER, 1, 600),
    Column("Interest Rate", "interest_rate", Kind.RATE, 0, 100),
    Column("Monthly payment", "monthly_installment", Kind.MONEY, 0, 1e10),
    Column("EMIs paid on Time", "emis_paid_on_time", Kind.INTEGER, 0, 600),
    Column("Date of Approval", "start_date", Kind.DATE),
    Column("End Date", "end_date", Kind.DATE),
)

SCALE = {Kind.MONEY: 100, Kind.RATE: 10_000}
# The years a date may fall in: Excel's first, and the last any date type holds.
FIRST_YEAR, LAST_YEAR = 1900, 9999
EXCEL_EPOCH = pl.date(1899, 12, 30)
DEFAULT_LIMITS = WorkbookLimits()


@dataclass(frozen=True)
class SheetData:
    """The valid rows (our column names plus `excel_row`) and the rejected ones."""

    valid: pl.DataFrame
    rejected: pl.DataFrame  # excel_row, reason


def read_customers(path: Path, limits: WorkbookLimits = DEFAULT_LIMITS) -> SheetData:
    frame = _load_sheet(path, "customers", CUSTOMER_COLUMNS, limits)
    typed, problems = _coerce(frame, CUSTOMER_COLUMNS)
    problems += [
        (_blank("first_name"), "First Name: blank"),
        (_blank("last_name"), "Last Name: blank"),
        (_too_long("first_name"), f"First Name: longer than {MAX_NAME_LENGTH} characters"),
        (_too_long("last_name"), f"Last Name: longer than {MAX_NAME_LENGTH} characters"),
        (_invisible("first_name"), f"First Name: {INVISIBLE_REASON}"),
        (_invisible("last_name"), f"Last Name: {INVISIBLE_REASON}"),
    ]
    sheet = _split(typed, problems, CUSTOMER_COLUMNS)
    # Repeated phone numbers are settled by the plan, which knows who holds them in the book.
    return _first_wins(sheet, ["id"], "Customer ID")


def read_loans(path: Path, limits: WorkbookLimits = DEFAULT_LIMITS) -> SheetData:
    frame = _load_sheet(path, "loans", LOAN_COLUMNS, limits)
    typed, problems = _coerce(frame, LOAN_COLUMNS)
    # Installment k falls due start + k months (clamped to the month's end); the last one is
    # the end date.
    expected_end = pl.col("start_date").dt.offset_by(
        pl.format("{}mo", pl.col("tenure").cast(pl.Int64))
    )
    problems += [
        (pl.col("end_date") <= pl.col("start_date"), "End Date: not after Date of Approval"),
        (
            (pl.col("end_date") > pl.col("start_date")) & (pl.col("end_date") != expected_end),
            "End Date: not Date of Approval + Tenure months",
        ),
        (
            pl.col("emis_paid_on_time") > pl.col("tenure"),
            "EMIs paid on Time: more than Tenure",
        ),
    ]
    sheet = _split(typed, problems, LOAN_COLUMNS)
    return _first_wins(sheet, ["customer_id", "source_loan_id"], "Customer ID and Loan ID")


def _load_sheet(
    path: Path, sheet: Sheet, columns: tuple[Column, ...], limits: WorkbookLimits
) -> pl.DataFrame:
    label = f"{sheet} file {path.name!r}"
    if not path.is_file():
        raise IngestError(f"The {label}: no such file.")
    check_workbook(path, label, limits)
    try:
        reader = fastexcel.read_excel(str(path))
        if not reader.sheet_names:
            raise IngestError(f"The {label} has no sheets.")
        frame = reader.load_sheet(0).to_polars()
    except fastexcel.FastExcelError as exc:
        raise IngestError(f"The {label} is not an Excel workbook ({_first_line(exc)}).") from exc

    headers = [str(h).strip() for h in frame.columns]
    expected = [c.header for c in columns]
    missing = [h for h in expected if h not in headers]
    unknown = [h for h in headers if h not in expected and not h.startswith("__UNNAMED__")]
    if missing or unknown:
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns: " + ", ".join(unknown))
        raise IngestError(f"The {label} has {'; '.join(parts)}.")

    frame = frame.rename(dict(zip(frame.columns, headers, strict=True)))
    frame = frame.with_row_index(ROW, offset=FIRST_DATA_ROW)
    # A row with no value at all carries no data (Excel leaves such rows behind on deletes).
    frame = frame.filter(~pl.all_horizontal(pl.col(expected).is_null()))
    if frame.height == 0:
        raise IngestError(f"The {label} has no data rows.")
    return frame.select(
        pl.col(ROW).cast(pl.Int64), *(pl.col(c.header).alias(c.name) for c in columns)
    )


Problem = tuple[pl.Expr, str | pl.Expr]


def _coerce(frame: pl.DataFrame, columns: tuple[Column, ...]) -> tuple[pl.DataFrame, list[Problem]]:
    """Cast each column to its kind; report missing, mistyped and out-of-range values."""
    # The values as read stay beside the typed ones (as `<name>__raw`) for the checks.
    frame = frame.with_columns(pl.col(c.name).alias(_raw(c.name)) for c in columns)
    typed: list[pl.Expr] = []
    problems: list[Problem] = []
    for column in columns:
        raw = pl.col(_raw(column.name))
        typed.append(_as_kind(raw, frame.schema[column.name], column.kind).alias(column.name))
        value = pl.col(column.name)
        problems.append((raw.is_null(), f"{column.header}: missing"))
        problems.append(
            (raw.is_not_null() & value.is_null(), f"{column.header}: not {column.kind.value}")
        )
        problems += _range_problems(column)
    return frame.with_columns(typed), problems


def _raw(name: str) -> str:
    return f"{name}__raw"


def _as_kind(raw: pl.Expr, dtype: pl.DataType, kind: Kind) -> pl.Expr:
    """The column as our type, null where a present value cannot be read as that type."""
    if kind is Kind.TEXT:
        return raw.cast(pl.String).str.strip_chars()
    if kind is Kind.DATE:
        return _as_date(raw, dtype)
    number = _as_number(raw, dtype)
    if kind is Kind.INTEGER:
        whole = (number - number.round(0)).abs() < TOLERANCE
        # strict=False: a value beyond 64 bits (1e20 in a sheet) is unreadable, not a crash.
        return pl.when(whole).then(number.round(0).cast(pl.Int64, strict=False))
    scaled = number * SCALE[kind]
    exact = (scaled - scaled.round(0)).abs() < TOLERANCE * SCALE[kind]
    return pl.when(exact).then(scaled.round(0).cast(pl.Int64, strict=False))


def _as_number(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return raw.str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)
    if dtype.is_numeric():
        return raw.cast(pl.Float64)
    return pl.lit(None, dtype=pl.Float64)


def _as_date(raw: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Date:
        return raw
    if isinstance(dtype, pl.Datetime):
        return raw.dt.date()
    if dtype.is_numeric():  # an Excel date serial number without a date format
        return EXCEL_EPOCH + pl.duration(days=raw.cast(pl.Int64, strict=False))
    if dtype == pl.String:
        text = raw.str.strip_chars()
        # fastexcel gives dates in a mixed column as "YYYY-MM-DD HH:MM:SS" text.
        return pl.coalesce(
            text.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.date(),
            text.str.to_date("%Y-%m-%d", strict=False),
        )
    return pl.lit(None, dtype=pl.Date)


def _range_problems(column: Column) -> list[Problem]:
    if column.kind is Kind.DATE:
        year = pl.col(column.name).dt.year()
        return [
            (
                (year < FIRST_YEAR) | (year > LAST_YEAR),
                f"{column.header}: outside the years {FIRST_YEAR}-{LAST_YEAR}",
            )
        ]
    if column.kind is Kind.TEXT:
        return []
    value = pl.col(column.name)
    unit = SCALE.get(column.kind, 1)
    problems: list[Problem] = []
    if column.low is not None:
        problems.append(
            (value < column.low * unit, f"{column.header}: below {_number(column.low)}")
        )
    if column.high is not None:
        problems.append(
            (value > column.high * unit, f"{column.header}: above {_number(column.high)}")
        )
    return problems


def _split(frame: pl.DataFrame, problems: list[Problem], columns: tuple[Column, ...]) -> SheetData:
    """Evaluate every check at once; only the failing rows get their reasons spelled out."""
    failing = [check.fill_null(False) for check, _ in problems]
    flagged = frame.with_columns(pl.any_horizontal(failing).alias("_rejected"))
    reasons = [
        pl.when(check).then(message if isinstance(message, pl.Expr) else pl.lit(message))
        for check, (_, message) in zip(failing, problems, strict=True)
    ]
    rejected = flagged.filter(pl.col("_rejected")).select(
        ROW, pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias(REASON)
    )
    valid = flagged.filter(~pl.col("_rejected")).select(ROW, *(c.name for c in columns))
    return SheetData(valid=valid, rejected=rejected)


def _first_wins(sheet: SheetData, key: list[str], label: str) -> SheetData:
    """A key that repeats in the file: its first row is kept, later rows are rejected."""
    valid = sheet.valid.with_columns(pl.col(ROW).min().over(key).alias("_first"))
    repeats = valid.filter(pl.col(ROW) != pl.col("_first")).select(
        ROW, pl.format(f"{label}: repeats row {{}}", pl.col("_first")).alias(REASON)
    )
    return SheetData(
        valid=valid.filter(pl.col(ROW) == pl.col("_first")).drop("_first"),
        rejected=pl.concat([sheet.rejected, repeats]),
    )


def _blank(name: str) -> pl.Expr:
    return pl.col(name).is_not_null() & (pl.col(name).str.len_chars() == 0)


INVISIBLE_REASON = "holds a control, zero-width, direction or line-break character"


def _invisible(name: str) -> pl.Expr:
    """The characters a name may not hold: the API's rule (`customers.api`)."""
    return pl.col(name).str.contains(f"[{INVISIBLE}]")


def _too_long(name: str) -> pl.Expr:
    return pl.col(name).str.len_chars() > MAX_NAME_LENGTH


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
