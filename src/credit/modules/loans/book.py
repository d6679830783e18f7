"""The one aggregate query behind every credit decision.

For one customer it returns, in a single statement, their income and limit, the sums over
their loans that scoring and the policy need, and the versions a booking must find unchanged
when it books (`BookVersion`). "Installments due so far" is month arithmetic
done in SQL with `EXTRACT` (portable: SQLAlchemy renders it for PostgreSQL and SQLite) and
matches `amortization.installments_due` exactly.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec
from sqlalchemy import Integer, and_, bindparam, case, cast, extract, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from credit.lending.scoring import CreditHistory
from credit.modules.customers.models import Customer
from credit.modules.loans.models import BOOK_STATE, Loan
from credit.plugins.sql import Database

ZERO = Decimal(0)


class BookVersion(msgspec.Struct, frozen=True):
    """What a decision was read from: the customer's booking version and the book's
    generation. A booking books only while both are still these."""

    customer: int
    book: int


class CustomerBook(msgspec.Struct, frozen=True):
    customer_id: int
    monthly_income: Decimal
    approved_limit: Decimal
    current_emis: Decimal
    history: CreditHistory
    version: BookVersion


CUSTOMERS = Customer.__table__
LOANS = Loan.__table__
# The book's generation; 0 before the first ingestion has written the row.
BOOK_GENERATION = func.coalesce(select(BOOK_STATE.c.generation).scalar_subquery(), 0)


class clamp(FunctionElement[int]):
    """`value` kept within [low, high], evaluating `value` once: `greatest(low, least(high,
    value))` on PostgreSQL, `max(low, min(high, value))` on SQLite. As a CASE (below low, above
    high, else) PostgreSQL evaluated the month arithmetic three times per loan."""

    type = Integer()
    name = "clamp"
    inherit_cache = True


def _clamp_sql(element: clamp, compiler: Any, greatest: str, least: str, **kw: Any) -> str:
    value, low, high = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"{greatest}({low}, {least}({high}, {value}))"


@compiles(clamp)
def _clamp_standard(element: clamp, compiler: Any, **kw: Any) -> str:
    return _clamp_sql(element, compiler, "greatest", "least", **kw)


@compiles(clamp, "sqlite")
def _clamp_sqlite(element: clamp, compiler: Any, **kw: Any) -> str:
    return _clamp_sql(element, compiler, "max", "min", **kw)


def _date_field(field: str, column: Any) -> Any:
    # An integer: PostgreSQL's EXTRACT gives `numeric`, and numeric arithmetic on every loan
    # row was a measurable part of the query's cost (docs/benchmarks.md, API).
    return cast(extract(field, column), Integer)


def installments_due_sql(today: date) -> Any:
    start = LOANS.c.start_date
    months = (today.year * 12 + today.month) - (
        _date_field("year", start) * 12 + _date_field("month", start)
    )
    month_end = today.day == calendar.monthrange(today.year, today.month)[1]
    # The installment of this month is not yet due when its day is still ahead (and today is
    # not the month's last day, where a clamped due date lands).
    not_yet = literal(0) if month_end else case((_date_field("day", start) > today.day, 1), else_=0)
    return clamp(months - not_yet, 0, LOANS.c.tenure)


@lru_cache(maxsize=4)
def book_statement(today: date) -> Any:
    """The statement for one day, built once, with the customer as bind parameter
    `customer_id`. Building a SQLAlchemy expression and its cache key per request cost more
    CPU than PostgreSQL spends answering it (docs/benchmarks.md), so each day's object is
    reused; it selects table columns, so no ORM compile step runs either."""
    loans = LOANS.c
    current = loans.end_date > today
    with_history = loans.emis_paid_on_time.is_not(None)
    return (
        select(
            CUSTOMERS.c.id,
            CUSTOMERS.c.monthly_income,
            CUSTOMERS.c.approved_limit,
            func.count(loans.id),
            func.sum(case((with_history, installments_due_sql(today)))),
            func.sum(loans.emis_paid_on_time),
            func.sum(
                case(
                    (and_(loans.start_date >= date(today.year, 1, 1), loans.start_date <= today), 1)
                )
            ),
            func.sum(loans.loan_amount),
            func.sum(case((current, loans.loan_amount))),
            func.sum(case((current, loans.monthly_installment))),
            CUSTOMERS.c.booking_version,
            BOOK_GENERATION,
        )
        .select_from(CUSTOMERS)
        .outerjoin(LOANS, loans.customer_id == CUSTOMERS.c.id)
        .where(CUSTOMERS.c.id == bindparam("customer_id"))
        .group_by(CUSTOMERS.c.id)
    )


async def customer_book(database: Database, customer_id: int, today: date) -> CustomerBook | None:
    """The customer's book, read in one statement (inside `database`'s transaction, if any)."""
    row = await database.row(book_statement(today), {"customer_id": customer_id})
    if row is None:
        return None
    (
        cid,
        income,
        limit,
        taken,
        due,
        paid,
        this_year,
        volume,
        current_amount,
        current_emis,
        customer_version,
        generation,
    ) = row
    return CustomerBook(
        customer_id=cid,
        monthly_income=income,
        approved_limit=limit,
        current_emis=current_emis or ZERO,
        history=CreditHistory(
            approved_limit=limit,
            loans_taken=taken,
            emis_due=int(due or 0),
            emis_paid_on_time=int(paid or 0),
            loans_this_year=int(this_year or 0),
            approved_volume=volume or ZERO,
            current_loans_amount=current_amount or ZERO,
        ),
        version=BookVersion(customer_version, generation),
    )
