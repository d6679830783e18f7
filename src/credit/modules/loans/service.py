"""Loans: booking, look-ups, current loans and schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

import msgspec
from litestar.exceptions import NotFoundException
from sqlalchemy import BigInteger, Table, bindparam, insert, select, update

from credit.lending.amortization import add_months
from credit.modules.customers.models import Customer
from credit.modules.loans.book import BOOK_GENERATION, BookVersion, CustomerBook, customer_book
from credit.modules.loans.models import Loan
from credit.plugins.sql import Database

CUSTOMERS = cast(Table, Customer.__table__)
LOANS = cast(Table, Loan.__table__)


# A booking claims the version it decided on and inserts the loan; nothing needs the ORM.
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
# PostgreSQL claims and inserts in one statement (data-modifying WITHs): one round trip. It
# is a SELECT over two WITHs, claim first, because PostgreSQL takes the tables' locks in that
# order (`customers`, then `loans`), as an ingestion's `LOCK TABLE customers, loans` and a
# queued booking's lock on its customer and then its `INSERT` do. As `INSERT ... SELECT FROM
# claimed` it took `loans` first and deadlocked with a concurrent ingestion (test_faults.py;
# tests/integration/test_booking.py checks the order).
_claimed = CLAIM_BOOKING.cte("claimed")
_inserted = (
    insert(LOANS)
    .from_select(
        ["customer_id", *BOOKED_FIELDS],
        select(_claimed.c.id, *(_booked(name) for name in BOOKED_FIELDS)),
    )
    .returning(LOANS.c.id)
    .cte("inserted")
)
CLAIM_AND_INSERT_LOAN = select(_inserted.c.id).add_cte(_claimed, _inserted)


class BookedLoan(msgspec.Struct, frozen=True):
    id: int
    end_date: date


class LoanRow(msgspec.Struct, frozen=True):
    id: int
    loan_amount: Decimal
    interest_rate: Decimal
    monthly_installment: Decimal
    tenure: int


class LoanCustomerRow(msgspec.Struct, frozen=True):
    id: int
    first_name: str
    last_name: str
    phone_number: int
    age: int


# Read statements are built once and executed with bind parameters: building an expression
# and its cache key per request cost more CPU than the query (docs/benchmarks.md). They select
# table columns into plain rows; nothing on these paths needs ORM objects.
LOAN_WITH_CUSTOMER = (
    select(
        LOANS.c.id,
        LOANS.c.loan_amount,
        LOANS.c.interest_rate,
        LOANS.c.monthly_installment,
        LOANS.c.tenure,
        CUSTOMERS.c.id,
        CUSTOMERS.c.first_name,
        CUSTOMERS.c.last_name,
        CUSTOMERS.c.phone_number,
        CUSTOMERS.c.age,
    )
    .join(CUSTOMERS, CUSTOMERS.c.id == LOANS.c.customer_id)
    .where(LOANS.c.id == bindparam("loan_id"))
)


LOAN_BY_ID = select(
    LOANS.c.id,
    LOANS.c.loan_amount,
    LOANS.c.interest_rate,
    LOANS.c.tenure,
    LOANS.c.monthly_installment,
    LOANS.c.start_date,
).where(LOANS.c.id == bindparam("loan_id"))


@lru_cache(maxsize=4)
def current_loans_statement(today: date) -> Any:
    """A customer's current loans (bind `customer_id`), in one statement that also proves the
    customer exists: a customer without current loans gives one row of NULL loan columns."""
    return (
        select(
            CUSTOMERS.c.id,
            LOANS.c.id,
            LOANS.c.loan_amount,
            LOANS.c.interest_rate,
            LOANS.c.monthly_installment,
            LOANS.c.tenure,
            LOANS.c.start_date,
        )
        .select_from(CUSTOMERS)
        .outerjoin(LOANS, (LOANS.c.customer_id == CUSTOMERS.c.id) & (LOANS.c.end_date > today))
        .where(CUSTOMERS.c.id == bindparam("customer_id"))
        .order_by(LOANS.c.id)
    )


class CurrentLoanRow(msgspec.Struct, frozen=True):
    loan_id: int
    loan_amount: Decimal
    interest_rate: Decimal
    monthly_installment: Decimal
    tenure: int
    start_date: date


class ScheduledLoanRow(msgspec.Struct, frozen=True):
    id: int
    loan_amount: Decimal
    interest_rate: Decimal
    tenure: int
    monthly_installment: Decimal
    start_date: date


class LoanService:
    """Loans of the book, on a `Database` (or on one of its transactions)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def customer_book(self, customer_id: int, today: date) -> CustomerBook:
        book = await customer_book(self.database, customer_id, today)
        if book is None:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return book

    async def book_loan(
        self,
        customer_id: int,
        version: BookVersion,
        amount: Decimal,
        interest_rate: Decimal,
        tenure: int,
        installment: Decimal,
        start: date,
    ) -> BookedLoan | None:
        """Book the loan if the customer's book is still at `version`; None if it moved."""
        end = add_months(start, tenure)
        now = datetime.now(UTC)
        values = {
            "customer_id": customer_id,
            "customer_version": version.customer,
            "book_generation": version.book,
            "booked_loan_amount": amount,
            "booked_interest_rate": interest_rate,
            "booked_tenure": tenure,
            "booked_monthly_installment": installment,
            "booked_start_date": start,
            "booked_end_date": end,
            "booked_created_at": now,
            "booked_updated_at": now,
        }
        if self.database.writable_ctes:
            row = await self.database.row(CLAIM_AND_INSERT_LOAN, values)
        else:
            async with self.database.transaction() as tx:
                if await tx.row(CLAIM_BOOKING, values) is None:
                    return None
                row = await tx.row(INSERT_LOAN, values)
        return None if row is None else BookedLoan(row[0], end)

    async def loan_with_customer(self, loan_id: int) -> tuple[LoanRow, LoanCustomerRow]:
        row = await self.database.row(LOAN_WITH_CUSTOMER, {"loan_id": loan_id})
        if row is None:
            raise NotFoundException(detail=f"Loan {loan_id} not found.")
        loan = LoanRow(row[0], row[1], row[2], row[3], row[4])
        return loan, LoanCustomerRow(row[5], row[6], row[7], row[8], row[9])

    async def get_loan(self, loan_id: int) -> ScheduledLoanRow:
        row = await self.database.row(LOAN_BY_ID, {"loan_id": loan_id})
        if row is None:
            raise NotFoundException(detail=f"Loan {loan_id} not found.")
        return ScheduledLoanRow(*row)

    async def current_loans(self, customer_id: int, today: date) -> list[CurrentLoanRow]:
        """The customer's current loans as plain rows, oldest first; 404 for no customer."""
        rows = await self.database.rows(
            current_loans_statement(today), {"customer_id": customer_id}
        )
        if not rows:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return [CurrentLoanRow(*row[1:]) for row in rows if row[1] is not None]
