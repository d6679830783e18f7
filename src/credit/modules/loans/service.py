"""Loans: booking, look-ups, current loans and schedules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import NotFoundException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.modules.customers.models import Customer
from credit.modules.loans.amortization import add_months
from credit.modules.loans.book import CustomerBook, customer_book
from credit.modules.loans.models import Loan


@dataclass(frozen=True)
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

    async def customer_book(self, customer_id: int, today: date) -> CustomerBook:
        book = await customer_book(self._session, customer_id, today)
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
    ) -> Loan:
        loan = Loan(
            customer_id=customer_id,
            loan_amount=amount,
            interest_rate=interest_rate,
            tenure=tenure,
            monthly_installment=installment,
            start_date=start,
            end_date=add_months(start, tenure),
        )
        self._session.add(loan)
        await self._session.flush()
        return loan

    async def loan_with_customer(self, loan_id: int) -> tuple[Loan, Customer]:
        stmt = (
            select(Loan, Customer)
            .join(Customer, Customer.id == Loan.customer_id)
            .where(Loan.id == loan_id)
        )
        row = (await self._session.execute(stmt)).one_or_none()
        if row is None:
            raise NotFoundException(detail=f"Loan {loan_id} not found.")
        return row[0], row[1]

    async def get_loan(self, loan_id: int) -> Loan:
        loan = await self._session.get(Loan, loan_id)
        if loan is None:
            raise NotFoundException(detail=f"Loan {loan_id} not found.")
        return loan

    async def current_loans(self, customer_id: int, today: date) -> list[CurrentLoanRow]:
        """The customer's current loans as plain rows, in one statement that also proves the
        customer exists (a customer without current loans gives one row of NULL loan columns).
        """
        stmt = (
            select(
                Customer.id,
                Loan.id,
                Loan.loan_amount,
                Loan.interest_rate,
                Loan.monthly_installment,
                Loan.tenure,
                Loan.start_date,
            )
            .select_from(Customer)
            .outerjoin(Loan, (Loan.customer_id == Customer.id) & (Loan.end_date > today))
            .where(Customer.id == customer_id)
            .order_by(Loan.id)
        )
        rows = (await self._session.execute(stmt)).all()
        if not rows:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return [CurrentLoanRow(*row[1:]) for row in rows if row[1] is not None]
