"""The customer's book: every statement that reads or writes customers and loans together.

The loans module owns this aggregate, and this is the one place in the service where the
`customers` table and the `loans` table meet (the import contract in pyproject.toml allows
this file, and no other, to import the customers module's model). Here are the aggregate
behind every credit decision (in one statement: income and limit, the sums scoring and the
policy need, and the `BookVersion` a booking must find unchanged), the booking's claim on that
version, a loan with its customer, and a customer's current loans. "Installments due so far"
is month arithmetic done in SQL with `EXTRACT` (portable: SQLAlchemy renders it for
PostgreSQL and SQLite) and matches `amortization.installments_due` exactly. Statements are
built once (per day where they depend on it) and selected columns are labelled: rows are read
by name.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec
from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    Row,
    Table,
    and_,
    bindparam,
    case,
    cast,
    extract,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from credit.db.tables import CLASSIFICATIONS as CLASSES
from credit.lending.scoring import CreditHistory
from credit.modules.customers.models import Customer
from credit.modules.loans.models import BOOK_STATE, CLOSED_DAYS, LOAN_CLASSIFICATIONS, Loan

ZERO = Decimal(0)
CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
LOANS: Table = Loan.__table__  # type: ignore[assignment]


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
    # NPA at the latest close of day.
    npa: bool = False


# The book's generation; 0 before the first ingestion has written the row.
def constant(value: int) -> Any:
    """An integer written into the statement's text rather than sent as a bind parameter.
    These statements are built once (per day at most), and every parameter costs each
    execution its processing and encoding; with its constants as parameters the credit
    aggregate carried fourteen, and its execution cost several times the query's own."""
    return literal_column(str(int(value)), Integer)


def day(value: date) -> Any:
    """A date written into the statement's text, as 'YYYY-MM-DD': PostgreSQL reads the literal
    as a date beside a date column, and SQLite keeps dates as exactly that text."""
    return literal_column(f"'{value.isoformat()}'", Date)


BOOK_GENERATION = func.coalesce(select(BOOK_STATE.c.generation).scalar_subquery(), constant(0))


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
    """Installments of each loan due on or before `today` (0..tenure)."""
    start = LOANS.c.start_date
    months = constant(today.year * 12 + today.month) - (
        _date_field("year", start) * constant(12) + _date_field("month", start)
    )
    month_end = today.day == calendar.monthrange(today.year, today.month)[1]
    # The installment of this month is not yet due when its day is still ahead (and today is
    # not the month's last day, where a clamped due date lands).
    not_yet = (
        constant(0)
        if month_end
        else case((_date_field("day", start) > constant(today.day), constant(1)), else_=constant(0))
    )
    return clamp(months - not_yet, constant(0), LOANS.c.tenure)


# --- a loan's servicing state in SQL (`credit.lending.servicing`) --------------------------------

# "Current" (the contract): repayments left, i.e. a balance outstanding. Before a first payment
# `B` is NULL and the loan is current while installments are left to settle; after one, while
# `B` is above 0 (a loan paid off early is closed, whatever its end date).
CURRENT = or_(
    and_(LOANS.c.outstanding_principal.is_(None), LOANS.c.installments_settled < LOANS.c.tenure),
    LOANS.c.outstanding_principal > constant(0),
)
CLOSED_BY_PAYMENT = LOANS.c.outstanding_principal == constant(0)
# `e`: the EMI from now on, the loan's own until a payment recalculates it.
CURRENT_EMI = func.coalesce(LOANS.c.current_emi, LOANS.c.monthly_installment)


def installments_counted_sql(today: date) -> Any:
    """The installments the score counts as due: every one settled, plus those whose due date
    has passed unsettled (an installment due today is not overdue until tomorrow); a loan paid
    off counts what it settled."""
    passed = installments_due_sql(today - timedelta(days=1))
    settled = LOANS.c.installments_settled
    return case((CLOSED_BY_PAYMENT, settled), else_=clamp(passed, settled, LOANS.c.tenure))


@lru_cache(maxsize=4)
def book_statement(today: date) -> Any:
    """The aggregate for one day, built once, with the customer as bind parameter
    `customer_id`. Building a SQLAlchemy expression and its cache key per request costs more
    CPU than PostgreSQL spends answering it, so each day's object is reused."""
    loans = LOANS.c
    this_year = and_(
        loans.start_date >= day(date(today.year, 1, 1)), loans.start_date <= day(today)
    )
    # On time: as the files say before loading (capped per loan at the installments due by
    # then), then each payment made by its due date.
    on_time = func.coalesce(loans.on_time_at_load, constant(0)) + loans.installments_paid_on_time
    return (
        select(
            CUSTOMERS.c.id.label("customer_id"),
            CUSTOMERS.c.monthly_income,
            CUSTOMERS.c.approved_limit,
            func.count(loans.id).label("loans_taken"),
            func.sum(installments_counted_sql(today)).label("emis_due"),
            func.sum(on_time).label("emis_paid_on_time"),
            func.sum(case((this_year, constant(1)))).label("loans_this_year"),
            func.sum(loans.loan_amount).label("approved_volume"),
            func.sum(case((CURRENT, loans.loan_amount))).label("current_loans_amount"),
            func.sum(case((CURRENT, CURRENT_EMI))).label("current_emis"),
            CUSTOMER_IS_NPA.label("npa"),
            CUSTOMERS.c.booking_version,
            BOOK_GENERATION.label("book_generation"),
        )
        .select_from(CUSTOMERS)
        .outerjoin(LOANS, loans.customer_id == CUSTOMERS.c.id)
        .where(CUSTOMERS.c.id == bindparam("customer_id"))
        .group_by(CUSTOMERS.c.id)
    )


def customer_book(row: Row[Any]) -> CustomerBook:
    """The aggregate's row as the book it describes."""
    limit = row.approved_limit
    return CustomerBook(
        customer_id=row.customer_id,
        monthly_income=row.monthly_income,
        approved_limit=limit,
        current_emis=row.current_emis or ZERO,
        history=CreditHistory(
            approved_limit=limit,
            loans_taken=row.loans_taken,
            emis_due=int(row.emis_due or 0),
            emis_paid_on_time=int(row.emis_paid_on_time or 0),
            loans_this_year=int(row.loans_this_year or 0),
            approved_volume=row.approved_volume or ZERO,
            current_loans_amount=row.current_loans_amount or ZERO,
        ),
        version=BookVersion(row.booking_version, row.book_generation),
        npa=bool(row.npa),
    )


# --- booking: claim the version a decision was read from, and insert the loan -----------------

BOOKED_FIELDS = (
    "loan_amount",
    "interest_rate",
    "tenure",
    "monthly_installment",
    "start_date",
    "end_date",
    "created_at",
    "updated_at",
)
# The claim: raise the customer's booking version, only if it and the book's generation are
# still what the decision was read from. No row back means another booking or an ingestion
# came first. The book's generation cannot move while the claim runs: an ingestion holds
# `customers` locked for its whole length, and a claim waiting for that lock starts reading
# only once it has it (under READ COMMITTED each statement reads after its locks are taken).
CLAIM_BOOKING = (
    update(CUSTOMERS)
    .where(CUSTOMERS.c.id == bindparam("customer_id"))
    .where(CUSTOMERS.c.booking_version == bindparam("customer_version"))
    .where(bindparam("book_generation", type_=BigInteger) == BOOK_GENERATION)
    # A booking is not a change to the customer's profile: `updated_at` stays as it was.
    .values(booking_version=CUSTOMERS.c.booking_version + 1, updated_at=CUSTOMERS.c.updated_at)
    .returning(CUSTOMERS.c.id)
)


def _booked(name: str) -> Any:
    # Not the column's own name: SQLAlchemy keeps those for INSERT ... VALUES.
    return bindparam(f"booked_{name}", type_=LOANS.c[name].type)


INSERT_LOAN = (
    insert(LOANS)
    .values(customer_id=bindparam("customer_id"), **{name: _booked(name) for name in BOOKED_FIELDS})
    .returning(LOANS.c.id)
)
# PostgreSQL claims, inserts and records the decision in one statement (data-modifying
# WITHs): `decisions.CLAIM_BOOK_AND_RECORD`.


# --- views -------------------------------------------------------------------------------------

# The columns of a loan's servicing state, read by `LoanService` into `LoanTerms` and
# `servicing.stored_state`.
STATE_COLUMNS = (
    LOANS.c.loan_amount,
    LOANS.c.interest_rate,
    LOANS.c.tenure,
    LOANS.c.start_date,
    LOANS.c.monthly_installment,
    LOANS.c.installments_settled,
    LOANS.c.outstanding_principal,
    LOANS.c.current_emi,
    LOANS.c.last_paid_on,
)


# --- the latest close (`credit.modules.portfolio`) ---------------------------------------------

LATEST_CLOSE = select(func.max(CLOSED_DAYS.c.as_of)).scalar_subquery()
# A loan's figures at the latest close: its row in `loan_classifications`, which holds the
# loans that close found (a loan paid off before it or lent after it has none: NULLs).
CLASSIFIED_COLUMNS = (
    LOAN_CLASSIFICATIONS.c.classification,
    case((LOAN_CLASSIFICATIONS.c.loan_id.is_not(None), LATEST_CLOSE)).label("classified_on"),
    LOAN_CLASSIFICATIONS.c.days_past_due.label("classified_days_past_due"),
)


def with_classification(loans: Any) -> Any:
    """`loans` LEFT JOIN its row of the latest close."""
    return loans.outerjoin(LOAN_CLASSIFICATIONS, LOAN_CLASSIFICATIONS.c.loan_id == LOANS.c.id)


# A customer's classification at the latest close: the worst of their loans' (the classes'
# rank by name: NPA > SMA-2 > SMA-1 > SMA-0 > standard); NULL before the first close.
CUSTOMER_IS_NPA = (
    select(LOAN_CLASSIFICATIONS.c.loan_id)
    .where(LOAN_CLASSIFICATIONS.c.customer_id == CUSTOMERS.c.id)
    .where(LOAN_CLASSIFICATIONS.c.classification == "NPA")
    .exists()
)
CLASS_RANK = case(
    *((LOAN_CLASSIFICATIONS.c.classification == name, rank) for rank, name in enumerate(CLASSES)),
    else_=0,
)
CUSTOMER_WORST_RANK = (
    select(func.max(CLASS_RANK))
    .where(LOAN_CLASSIFICATIONS.c.customer_id == CUSTOMERS.c.id)
    .scalar_subquery()
)


# A loan (bind `loan_id`) with its state and its customer.
LOAN_WITH_CUSTOMER = (
    select(
        LOANS.c.id.label("loan_id"),
        *STATE_COLUMNS,
        *CLASSIFIED_COLUMNS,
        CUSTOMERS.c.id.label("customer_id"),
        CUSTOMERS.c.first_name,
        CUSTOMERS.c.last_name,
        CUSTOMERS.c.phone_number,
        CUSTOMERS.c.age,
    )
    .select_from(with_classification(LOANS))
    .join(CUSTOMERS, CUSTOMERS.c.id == LOANS.c.customer_id)
    .where(LOANS.c.id == bindparam("loan_id"))
)


# A customer's current loans (bind `customer_id`) with the customer's profile, in one
# statement that also proves the customer exists: a customer without current loans gives one
# row of NULL loan columns. Not per day: "current" is the loan's servicing state.
CURRENT_LOANS = (
    select(
        CUSTOMERS.c.id.label("customer_id"),
        CUSTOMERS.c.first_name,
        CUSTOMERS.c.last_name,
        CUSTOMERS.c.age,
        CUSTOMERS.c.phone_number,
        CUSTOMERS.c.monthly_income,
        CUSTOMERS.c.approved_limit,
        LOANS.c.id.label("loan_id"),
        *STATE_COLUMNS,
    )
    .add_columns(LATEST_CLOSE.label("latest_close"), CUSTOMER_WORST_RANK.label("worst_class_rank"))
    .select_from(CUSTOMERS)
    .outerjoin(LOANS, (LOANS.c.customer_id == CUSTOMERS.c.id) & CURRENT)
    .where(CUSTOMERS.c.id == bindparam("customer_id"))
    .order_by(LOANS.c.id)
)

# All of a customer's loans, current and closed (bind `customer_id`), with the profile, as
# CURRENT_LOANS reads them: the console's customer page lists both.
ALL_LOANS = (
    select(*CURRENT_LOANS.selected_columns)
    .select_from(CUSTOMERS)
    .outerjoin(LOANS, LOANS.c.customer_id == CUSTOMERS.c.id)
    .where(CUSTOMERS.c.id == bindparam("customer_id"))
    .order_by(LOANS.c.id)
)

# The current loans of several customers (bind `customer_ids`, expanding), customer by
# customer, oldest first, with each customer's classification at the latest close (a customer
# with no current loan has one row of NULL loan columns): a page of profiles reads its figures
# in this one statement.
CURRENT_LOANS_OF = (
    select(
        CUSTOMERS.c.id.label("customer_id"),
        LOANS.c.id.label("loan_id"),
        *STATE_COLUMNS,
        LATEST_CLOSE.label("latest_close"),
        CUSTOMER_WORST_RANK.label("worst_class_rank"),
    )
    .select_from(CUSTOMERS)
    .outerjoin(LOANS, (LOANS.c.customer_id == CUSTOMERS.c.id) & CURRENT)
    .where(CUSTOMERS.c.id.in_(bindparam("customer_ids", expanding=True)))
    .order_by(CUSTOMERS.c.id, LOANS.c.id)
)
