"""Loans: the customer's book and its assessment, the booking claim, look-ups and schedules.

The loans module's Advanced Alchemy service. The statements over customers and loans
together are in `book.py`; this service runs them and reads their rows by name.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import msgspec
from advanced_alchemy.extensions.litestar.providers import create_service_provider
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import bindparam, select

from credit.errors import NotFound
from credit.lending.amortization import add_months
from credit.lending.policy import Borrower, CreditPolicy, Decision, LoanRequest, decide
from credit.lending.scoring import CreditScore, credit_score
from credit.modules.loans.book import (
    CLAIM_AND_INSERT_LOAN,
    CLAIM_BOOKING,
    INSERT_LOAN,
    LOAN_WITH_CUSTOMER,
    LOANS,
    BookVersion,
    CustomerBook,
    book_statement,
    current_loans_statement,
    customer_book,
)
from credit.modules.loans.models import Loan
from credit.plugins.database import Service

LOAN_BY_ID = select(
    LOANS.c.id,
    LOANS.c.loan_amount,
    LOANS.c.interest_rate,
    LOANS.c.tenure,
    LOANS.c.monthly_installment,
    LOANS.c.start_date,
).where(LOANS.c.id == bindparam("loan_id"))


def customer_not_found(customer_id: int) -> NotFound:
    return NotFound(f"Customer {customer_id} not found.")


def loan_not_found(loan_id: int) -> NotFound:
    return NotFound(f"Loan {loan_id} not found.")


class Assessment(msgspec.Struct, frozen=True):
    book: CustomerBook
    score: CreditScore
    decision: Decision


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


class LoanService(Service[Loan]):
    class Repo(SQLAlchemyAsyncRepository[Loan]):
        model_type = Loan

    repository_type = Repo

    @property
    def writable_ctes(self) -> bool:
        """Whether a WITH may hold an UPDATE (PostgreSQL): then claim and insert are one."""
        name: str = self.repository._dialect.name
        return name == "postgresql"

    async def customer_book(self, customer_id: int, today: date) -> CustomerBook:
        """The customer's book, read in one statement (inside a transaction, if one is open)."""
        result = await self.execute(book_statement(today), {"customer_id": customer_id})
        row = result.one_or_none()
        if row is None:
            raise customer_not_found(customer_id)
        return customer_book(row)

    async def score(
        self, customer_id: int, today: date, policy: CreditPolicy
    ) -> tuple[CustomerBook, CreditScore]:
        book = await self.customer_book(customer_id, today)
        return book, credit_score(book.history, policy)

    async def assess(
        self, customer_id: int, request: LoanRequest, today: date, policy: CreditPolicy
    ) -> Assessment:
        """The score and the policy's decision on the customer's book as read now."""
        book, score = await self.score(customer_id, today, policy)
        borrower = Borrower(
            monthly_income=book.monthly_income,
            approved_limit=book.approved_limit,
            current_loans_amount=book.history.current_loans_amount,
            current_emis=book.current_emis,
        )
        return Assessment(book, score, decide(score.score, borrower, request, policy))

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
        if self.writable_ctes:  # one statement: atomic without a transaction around it
            row = (await self.execute(CLAIM_AND_INSERT_LOAN, values)).one_or_none()
        else:
            async with self.transaction():
                if (await self.execute(CLAIM_BOOKING, values)).one_or_none() is None:
                    return None
                row = (await self.execute(INSERT_LOAN, values)).one_or_none()
        return None if row is None else BookedLoan(row.id, end)

    async def loan_with_customer(self, loan_id: int) -> tuple[LoanRow, LoanCustomerRow]:
        row = (await self.execute(LOAN_WITH_CUSTOMER, {"loan_id": loan_id})).one_or_none()
        if row is None:
            raise loan_not_found(loan_id)
        loan = LoanRow(
            id=row.id,
            loan_amount=row.loan_amount,
            interest_rate=row.interest_rate,
            monthly_installment=row.monthly_installment,
            tenure=row.tenure,
        )
        customer = LoanCustomerRow(
            id=row.customer_id,
            first_name=row.first_name,
            last_name=row.last_name,
            phone_number=row.phone_number,
            age=row.age,
        )
        return loan, customer

    async def get_loan(self, loan_id: int) -> ScheduledLoanRow:
        row = (await self.execute(LOAN_BY_ID, {"loan_id": loan_id})).one_or_none()
        if row is None:
            raise loan_not_found(loan_id)
        return ScheduledLoanRow(**row._mapping)

    async def current_loans(self, customer_id: int, today: date) -> list[CurrentLoanRow]:
        """The customer's current loans, oldest first; NotFound for no customer."""
        statement = current_loans_statement(today)
        rows = (await self.execute(statement, {"customer_id": customer_id})).all()
        if not rows:
            raise customer_not_found(customer_id)
        return [
            CurrentLoanRow(
                loan_id=row.loan_id,
                loan_amount=row.loan_amount,
                interest_rate=row.interest_rate,
                monthly_installment=row.monthly_installment,
                tenure=row.tenure,
                start_date=row.start_date,
            )
            for row in rows
            if row.loan_id is not None
        ]


# The one way a request gets this service: Litestar DI, on the request's session.
provide_loans = create_service_provider(LoanService)
