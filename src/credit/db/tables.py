"""The book's tables, `customers`, `loans` and `book_state`, defined once in SQLAlchemy Core.

The ORM models map onto them (`__table__`) in Advanced Alchemy's metadata, which Alembic
compares with the database; ingestion's writer builds its own copy in a metadata of its own.
This module imports only SQLAlchemy, so `credit ingest` writes from the same definition
without loading Advanced Alchemy or Litestar. The timestamps' type is the caller's: the models
pass Advanced Alchemy's UTC type, the writer never binds a timestamp.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
)
from sqlalchemy.types import TypeEngine

from credit.db.types import Money, Rate

# An id: BIGINT IDENTITY on PostgreSQL, INTEGER (the rowid) on SQLite.
BigIntId = BigInteger().with_variant(Integer, "sqlite")


def _column(name: str, *args: Any, **kwargs: Any) -> Column[Any]:
    """A column named with a plain `str`, as declarative names a mapped column (`Column(name)`
    would make it a `quoted_name`): rows are then keyed by plain strings, which
    `msgspec.convert(row._mapping, ...)` requires."""
    column: Column[Any] = Column(*args, **kwargs)
    column.name = column.key = name
    return column


def _now() -> datetime:
    return datetime.now(UTC)


def _id() -> Column[Any]:
    return _column("id", BigIntId, Identity(start=1, increment=1), primary_key=True)


def _stamps(stamp: TypeEngine[datetime]) -> tuple[Column[Any], Column[Any]]:
    """`created_at` and `updated_at`, with Advanced Alchemy's audit defaults."""
    return (
        _column("created_at", stamp, nullable=False, default=_now),
        _column("updated_at", stamp, nullable=False, default=_now, onupdate=_now),
    )


def customers_table(
    metadata: MetaData, stamp: TypeEngine[datetime] = DateTime(timezone=True)
) -> Table:
    return Table(
        "customers",
        metadata,
        _id(),
        # The file's `Customer ID` for a customer loaded from the workbooks; NULL for one
        # registered through the API, which an ingestion never overwrites
        # (`credit.modules.ingest.plan`).
        _column("source_customer_id", BigInteger, nullable=True),
        _column("first_name", String(100), nullable=False),
        _column("last_name", String(100), nullable=False),
        _column("age", SmallInteger, nullable=False),
        _column("phone_number", BigInteger, nullable=False, unique=True),
        _column("monthly_income", Money(), nullable=False),
        _column("approved_limit", Money(), nullable=False),
        # Raised by every booking for this customer: a booking books only if it is still the
        # version it read (optimistic booking, `credit.modules.loans.booking`).
        _column("booking_version", Integer, nullable=False, server_default="0"),
        *_stamps(stamp),
        Index("uq_customers_source_customer_id", "source_customer_id", unique=True),
    )


def loans_table(metadata: MetaData, stamp: TypeEngine[datetime] = DateTime(timezone=True)) -> Table:
    return Table(
        "loans",
        metadata,
        _id(),
        _column(
            "customer_id",
            BigIntId,
            ForeignKey("customers.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        # The `Loan ID` of the ingested file; NULL for loans booked through the API.
        _column("source_loan_id", BigInteger, nullable=True),
        _column("loan_amount", Money(), nullable=False),
        _column("tenure", SmallInteger, nullable=False),
        _column("interest_rate", Rate(), nullable=False),
        _column("monthly_installment", Money(), nullable=False),
        # NULL for API-booked loans: the service has no payment records for them yet.
        _column("emis_paid_on_time", SmallInteger, nullable=True),
        # What the score counts of `emis_paid_on_time`: never more than the installments due
        # on the loan when it was loaded (a file's surplus on one loan cannot hide missed
        # installments). Written with `loaded_on`; NULL for API-booked loans.
        _column("on_time_at_load", SmallInteger, nullable=True),
        _column("start_date", Date, nullable=False),
        _column("end_date", Date, nullable=False),
        # Servicing state. Every default means "nothing has happened since the loan was booked
        # or loaded", so a booking writes none of them and a load writes only the first two.
        # The day the files' record of this loan was taken; NULL for loans booked by the API.
        _column("loaded_on", Date, nullable=True),
        # `s`: installments settled, by the files (those due on or before `loaded_on`) or by a
        # payment. The next payment settles installment s + 1.
        _column("installments_settled", SmallInteger, nullable=False, server_default="0"),
        # Installments settled by a payment on or before their due date (the score's count
        # after loading; `emis_paid_on_time` keeps the files' count before it).
        _column("installments_paid_on_time", SmallInteger, nullable=False, server_default="0"),
        # `B`, written by every payment. NULL until the first one: then `B` is the formula
        # schedule's balance after `installments_settled` (the loan amount for a booked loan).
        _column("outstanding_principal", Money(), nullable=True),
        # `e`, written by every payment (0 once paid off). NULL until the first one: then `e`
        # is `monthly_installment` (the booked EMI, or the file's `Monthly payment`).
        _column("current_emi", Money(), nullable=True),
        # The date of the latest payment: a payment may not be dated before it.
        _column("last_paid_on", Date, nullable=True),
        *_stamps(stamp),
        # An ingested row is identified by its customer and the file's Loan ID. Leading with
        # the customer and holding every loan (API-booked ones have a NULL source id), it is
        # also the index of every per-customer read: current loans, the credit aggregate.
        Index("uq_loans_customer_id_source_loan_id", "customer_id", "source_loan_id", unique=True),
    )


def book_state_table(metadata: MetaData) -> Table:
    """One row (id 1), absent until the first ingestion (read as generation 0). Every ingestion
    raises the generation, so a booking decided on the book before it cannot be booked after
    it."""
    return Table(
        "book_state",
        metadata,
        _column("id", SmallInteger, primary_key=True),
        _column("generation", BigInteger, nullable=False, server_default="0"),
        CheckConstraint("id = 1", name="single_row"),
    )


# --- the close of day (`credit.modules.portfolio`) ----------------------------------------------

CLASSIFICATIONS = ("standard", "SMA-0", "SMA-1", "SMA-2", "NPA")


def loan_classifications_table(metadata: MetaData) -> Table:
    """Each loan as the latest close found it: a row per loan with a balance at that close,
    rewritten only when its figures change (a loan that stays `standard` is not touched) and
    deleted when a close no longer finds it (paid off)."""
    return Table(
        "loan_classifications",
        metadata,
        _column(
            "loan_id",
            BigIntId,
            ForeignKey("loans.id", ondelete="RESTRICT"),
            primary_key=True,
            autoincrement=False,
        ),
        _column("customer_id", BigIntId, nullable=False),
        _column("classification", String(10), nullable=False),
        _column("days_past_due", Integer, nullable=False),
        # The loan's outstanding principal at the end of the closed date.
        _column("outstanding", Money(), nullable=False),
        Index("ix_loan_classifications_customer_id", "customer_id"),
    )


def classification_periods_table(metadata: MetaData) -> Table:
    """A loan's classification history: a period from the first close that found it in a class
    to the last (`to_date` NULL while it lasts), written only when the class changes."""
    return Table(
        "classification_periods",
        metadata,
        _id(),
        _column("loan_id", BigIntId, ForeignKey("loans.id", ondelete="RESTRICT"), nullable=False),
        _column("classification", String(10), nullable=False),
        _column("from_date", Date, nullable=False),
        _column("to_date", Date, nullable=True),
        Index("ix_classification_periods_loan_id_from_date", "loan_id", "from_date"),
    )


def closed_days_table(
    metadata: MetaData, stamp: TypeEngine[datetime] = DateTime(timezone=True)
) -> Table:
    """One row per closed date. The primary key makes a date closed once: the close inserts
    its dates first, so a second close at the same time waits on them and then finds them
    taken. With the day's totals (the `portfolio_days` rows give them by class)."""
    return Table(
        "closed_days",
        metadata,
        _column("as_of", Date, primary_key=True),
        # When the close began (its claim): a loan not changed since kept its balance.
        _column("closed_at", stamp, nullable=False),
        _column("loans", Integer, nullable=False, server_default="0"),
        _column("outstanding", Money(), nullable=False, server_default="0"),
        # Outstanding of the loans more than 30 / 90 days past due (PAR 30, PAR 90).
        _column("outstanding_over_30", Money(), nullable=False, server_default="0"),
        _column("outstanding_over_90", Money(), nullable=False, server_default="0"),
    )


def portfolio_days_table(metadata: MetaData) -> Table:
    """The day's portfolio summary: one row per closed date and class (all five, zeros too)."""
    return Table(
        "portfolio_days",
        metadata,
        _column(
            "as_of",
            Date,
            ForeignKey("closed_days.as_of", ondelete="RESTRICT"),
            primary_key=True,
        ),
        _column("classification", String(10), primary_key=True),
        _column("loans", Integer, nullable=False),
        _column("outstanding", Money(), nullable=False),
    )
