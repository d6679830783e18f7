"""Loans: booking, look-ups, current loans and schedules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import NotFoundException
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from credit.modules.customers.models import Customer
from credit.modules.loans.amortization import add_months
from credit.modules.loans.book import CustomerBook, customer_book
from credit.modules.loans.models import Loan

CUSTOMERS = Customer.__table__
LOANS = cast(Table, Loan.__table__)


# A booking inserts with Core inside the request's transaction: nothing needs the ORM object.
INSERT_LOAN = insert(LOANS).returning(LOANS.c.id)


@dataclass(frozen=True, slots=True)
class BookedLoan:
    id: int
    end_date: date


@dataclass(frozen=True, slots=True)
class LoanRow:
    id: int
    loan_amount: Decimal
    interest_rate: Decimal
    monthly_installment: Decimal
    tenure: int


@dataclass(frozen=True, slots=True)
class LoanCustomerRow:
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


@dataclass(frozen=True, slots=True)
class CurrentLoanRow:
    loan_id: int
    loan_amount: Decimal
    interest_rate: Decimal
    monthly_installment: Decimal
    tenure: int
    start_date: date


class LoanService(SQLAlchemyAsyncRepositoryService[Loan]):
    class Repo(SQLAlchemyAsyncRepository[Loan]):
        model_type = Loan

    repository_type = Repo

    @property
    def _session(self) -> AsyncSession:
        session: AsyncSession = self.repository.session
        return session

    async def commit(self) -> None:
        await self._session.commit()

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[AsyncSession | AsyncConnection]:
        """Where a read runs. Inside the request's transaction (a booking, after the customer's
        lock) it runs there and sees what the transaction sees. A read that is the request's
        first statement (view-loan, view-loans, check-eligibility) is one statement with
        nothing to be atomic with, so it runs on its own autocommit connection from the same
        pool: one round trip instead of BEGIN, the query and COMMIT."""
        session = self._session
        if session.in_transaction() or not isinstance(session.bind, AsyncEngine):
            yield session
            return
        async with session.bind.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def customer_book(self, customer_id: int, today: date) -> CustomerBook:
        async with self._reader() as reader:
            book = await customer_book(reader, customer_id, today)
        if book is None:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return book

    async def book_loan(
        self,
        customer_id: int,
        amount: Decimal,
        interest_rate: Decimal,
        tenure: int,
        installment: Decimal,
        start: date,
    ) -> BookedLoan:
        end = add_months(start, tenure)
        values = {
            "customer_id": customer_id,
            "loan_amount": amount,
            "interest_rate": interest_rate,
            "tenure": tenure,
            "monthly_installment": installment,
            "start_date": start,
            "end_date": end,
        }
        loan_id = (await self._session.execute(INSERT_LOAN, values)).scalar_one()
        return BookedLoan(loan_id, end)

    async def loan_with_customer(self, loan_id: int) -> tuple[LoanRow, LoanCustomerRow]:
        async with self._reader() as reader:
            row = (await reader.execute(LOAN_WITH_CUSTOMER, {"loan_id": loan_id})).one_or_none()
        if row is None:
            raise NotFoundException(detail=f"Loan {loan_id} not found.")
        loan = LoanRow(row[0], row[1], row[2], row[3], row[4])
        return loan, LoanCustomerRow(row[5], row[6], row[7], row[8], row[9])

    async def get_loan(self, loan_id: int) -> Loan:
        loan = await self._session.get(Loan, loan_id)
        if loan is None:
            raise NotFoundException(detail=f"Loan {loan_id} not found.")
        return loan

    async def current_loans(self, customer_id: int, today: date) -> list[CurrentLoanRow]:
        """The customer's current loans as plain rows, oldest first; 404 for no customer."""
        async with self._reader() as reader:
            statement = current_loans_statement(today)
            rows = (await reader.execute(statement, {"customer_id": customer_id})).all()
        if not rows:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return [CurrentLoanRow(*row[1:]) for row in rows if row[1] is not None]
