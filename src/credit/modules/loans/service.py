"""Loans: the customer's book and its assessment, the booking claim, look-ups, a loan's
ledger (its state and payments) and recording a payment.

The loans module's Advanced Alchemy service. The statements over customers and loans
together are in `book.py`, those over a loan and its payments in `ledger.py`; this service
runs them and reads their rows by name.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository

from credit.db.database import Service, service_provider
from credit.errors import Conflict, NotFound
from credit.lending.amortization import add_months
from credit.lending.policy import Borrower, CreditPolicy, Decision, LoanRequest, decide
from credit.lending.scoring import CreditScore, credit_score
from credit.lending.servicing import (
    Allocation,
    LoanState,
    LoanTerms,
    RecordedPayment,
    apply_payment,
    balance_after,
    stored_state,
)
from credit.modules.loans.book import (
    CLAIM_AND_INSERT_LOAN,
    CLAIM_BOOKING,
    CURRENT_LOANS,
    INSERT_LOAN,
    LOAN_WITH_CUSTOMER,
    BookVersion,
    CustomerBook,
    book_statement,
    customer_book,
)
from credit.modules.loans.ledger import (
    CUSTOMER_LOAN_LEDGER,
    INSERT_PAYMENT,
    LOAN_LEDGER,
    LOCK_LOAN,
    READ_LOAN,
    SETTLE_AND_RECORD,
    SETTLE_INSTALLMENT,
)
from credit.modules.loans.models import Loan

PAYMENT_NAMES = ("installment", "paid_on", "amount", "interest", "principal", "balance", "on_time")
# Races a payment may lose to other payments of its loan (PostgreSQL) before it queues
# behind the loan's row lock.
OPTIMISTIC_ATTEMPTS = 2
# Attempts a payment makes when another payment of the same loan (another process, on
# SQLite) moved the loan between its read and its write.
SETTLE_ATTEMPTS = 5


def customer_not_found(customer_id: int) -> NotFound:
    return NotFound(f"Customer {customer_id} not found.")


def loan_not_found(loan_id: int) -> NotFound:
    return NotFound(f"Loan {loan_id} not found.")


def customer_loan_not_found(customer_id: int, loan_id: int) -> NotFound:
    return NotFound(f"Customer {customer_id} has no loan {loan_id}.")


def state_of(row: Any) -> LoanState:
    """A row of `book.STATE_COLUMNS` as the loan's servicing state."""
    terms = LoanTerms(row.loan_amount, row.interest_rate, row.tenure, row.start_date)
    return stored_state(
        terms,
        row.monthly_installment,
        row.installments_settled,
        row.outstanding_principal,
        row.current_emi,
        row.last_paid_on,
    )


class PaymentGate:
    """One per process (a DI dependency): on SQLite, which has no row locks, payments of one
    loan queue here (striped by loan id, so other loans' payments mostly go on); the
    conditional update is the guard across processes."""

    STRIPES = 64

    def __init__(self) -> None:
        self._locks = [asyncio.Lock() for _ in range(self.STRIPES)]

    @asynccontextmanager
    async def hold(self, loan_id: int, serialise: bool) -> AsyncIterator[None]:
        if not serialise:
            yield
            return
        async with self._locks[loan_id % self.STRIPES]:
            yield


def _settlement(
    before: LoanState, loan_id: int, amount: Decimal, paid_on: date, today: date
) -> tuple[Allocation, dict[str, Any]]:
    """The payment's split (or its refusal) and the parameters that record it."""
    allocation, after = apply_payment(before, amount, paid_on, today)
    now = datetime.now(UTC)
    return allocation, {
        "loan_id": loan_id,
        "settled_before": before.installments_settled,
        "settled_after": after.installments_settled,
        "counts_on_time": 1 if allocation.on_time else 0,
        "balance_after": after.outstanding_principal,
        "emi_after": after.monthly_installment,
        "last_paid_on_after": paid_on,
        "settled_at": now,
        "paid_loan_id": loan_id,
        "paid_at": now,
        **{f"paid_{name}": getattr(allocation, name) for name in PAYMENT_NAMES},
    }


class LoanSettledMeanwhile(Conflict):
    """Another payment settled the installment between this payment's read and its write
    (retried; a 409 only if the loan keeps moving)."""


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
    """A current loan as stored. Its `B` (`outstanding_principal()`) is computed only when
    asked: before a first payment it is the formula schedule's balance after `s`, which
    view-loans does not need."""

    loan_id: int
    terms: LoanTerms
    recorded_emi: Decimal
    installments_settled: int
    stored_balance: Decimal | None
    current_emi: Decimal | None

    @property
    def monthly_installment(self) -> Decimal:
        """`e`: the EMI from now on."""
        return self.recorded_emi if self.current_emi is None else self.current_emi

    @property
    def repayments_left(self) -> int:
        """A current loan has a balance, so every installment not settled is left."""
        return self.terms.tenure - self.installments_settled

    def outstanding_principal(self) -> Decimal:
        if self.stored_balance is not None:
            return self.stored_balance
        return balance_after(self.terms, self.installments_settled)


class CustomerLoans(msgspec.Struct, frozen=True):
    """A customer's profile and current loans, as one statement reads them."""

    customer_id: int
    first_name: str
    last_name: str
    age: int
    phone_number: int
    monthly_income: Decimal
    approved_limit: Decimal
    loans: list[CurrentLoanRow]


class LoanLedger(msgspec.Struct, frozen=True):
    """A loan's state and the payments that settled its installments, oldest first.
    `loaded` is the installments settled as the files said, before any payment."""

    loan_id: int
    customer_id: int
    recorded_emi: Decimal
    state: LoanState
    loaded: int
    payments: list[RecordedPayment]


class RecordedAllocation(msgspec.Struct, frozen=True):
    payment_id: int
    allocation: Allocation


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

    async def ledger(self, loan_id: int, customer_id: int | None = None) -> LoanLedger:
        """The loan with its payments, in one statement; NotFound when there is no such loan
        (or, with `customer_id`, when it is not that customer's)."""
        if customer_id is None:
            result = await self.execute(LOAN_LEDGER, {"loan_id": loan_id})
        else:
            params = {"loan_id": loan_id, "customer_id": customer_id}
            result = await self.execute(CUSTOMER_LOAN_LEDGER, params)
        rows = result.all()
        if not rows:
            if customer_id is None:
                raise loan_not_found(loan_id)
            raise customer_loan_not_found(customer_id, loan_id)
        first = rows[0]
        payments = [
            RecordedPayment(
                payment_id=row.payment_id,
                installment=row.payment_installment,
                paid_on=row.payment_paid_on,
                amount=row.payment_amount,
                interest=row.payment_interest,
                principal=row.payment_principal,
                balance=row.payment_balance,
                on_time=bool(row.payment_on_time),
            )
            for row in rows
            if row.payment_id is not None
        ]
        state = state_of(first)
        return LoanLedger(
            loan_id=first.loan_id,
            customer_id=first.customer_id,
            recorded_emi=first.monthly_installment,
            state=state,
            loaded=state.installments_settled - len(payments),
            payments=payments,
        )

    async def pay(
        self,
        customer_id: int,
        loan_id: int,
        amount: Decimal,
        paid_on: date,
        today: date,
        gate: PaymentGate,
    ) -> RecordedAllocation:
        """Record a payment: it settles the loan's next installment, together with the loan's
        new state. Payments of one loan are applied one at a time: on PostgreSQL an unlocked
        read and one conditional statement, and after `OPTIMISTIC_ATTEMPTS` lost races a
        transaction holding the loan's row; on SQLite queued in-process, in a transaction
        guarded by the conditional update."""
        if self.writable_ctes:
            for _ in range(OPTIMISTIC_ATTEMPTS):
                recorded = await self._settle_unlocked(customer_id, loan_id, amount, paid_on, today)
                if recorded is not None:
                    return recorded
        async with gate.hold(loan_id, serialise=not self.writable_ctes):
            for _ in range(SETTLE_ATTEMPTS):
                try:
                    async with self.transaction():
                        return await self._settle(customer_id, loan_id, amount, paid_on, today)
                except LoanSettledMeanwhile:
                    continue
        raise LoanSettledMeanwhile(f"loan {loan_id} kept moving under its payment")

    async def _settle_unlocked(
        self, customer_id: int, loan_id: int, amount: Decimal, paid_on: date, today: date
    ) -> RecordedAllocation | None:
        row = await self.execute(READ_LOAN, {"loan_id": loan_id, "customer_id": customer_id})
        found = row.one_or_none()
        if found is None:
            raise customer_loan_not_found(customer_id, loan_id)
        allocation, params = _settlement(state_of(found), loan_id, amount, paid_on, today)
        recorded = (await self.execute(SETTLE_AND_RECORD, params)).one_or_none()
        return None if recorded is None else RecordedAllocation(recorded.id, allocation)

    async def _settle(
        self, customer_id: int, loan_id: int, amount: Decimal, paid_on: date, today: date
    ) -> RecordedAllocation:
        params = {"loan_id": loan_id, "customer_id": customer_id}
        row = (await self.execute(LOCK_LOAN, params)).one_or_none()
        if row is None:
            raise customer_loan_not_found(customer_id, loan_id)
        allocation, values = _settlement(state_of(row), loan_id, amount, paid_on, today)
        settle = {k: v for k, v in values.items() if not k.startswith("paid_")}
        settled = await self.execute(SETTLE_INSTALLMENT, settle)
        if settled.one_or_none() is None:
            raise LoanSettledMeanwhile(f"loan {loan_id} moved")
        record = {k: v for k, v in values.items() if k.startswith("paid_")}
        inserted = await self.execute(INSERT_PAYMENT, record)
        return RecordedAllocation(inserted.one().id, allocation)

    async def customer_loans(self, customer_id: int) -> CustomerLoans:
        """The customer's profile and current loans, oldest first; NotFound for no customer."""
        rows = (await self.execute(CURRENT_LOANS, {"customer_id": customer_id})).all()
        if not rows:
            raise customer_not_found(customer_id)
        first = rows[0]
        return CustomerLoans(
            customer_id=first.customer_id,
            first_name=first.first_name,
            last_name=first.last_name,
            age=first.age,
            phone_number=first.phone_number,
            monthly_income=first.monthly_income,
            approved_limit=first.approved_limit,
            loans=[
                CurrentLoanRow(
                    loan_id=row.loan_id,
                    terms=LoanTerms(row.loan_amount, row.interest_rate, row.tenure, row.start_date),
                    recorded_emi=row.monthly_installment,
                    installments_settled=row.installments_settled,
                    stored_balance=row.outstanding_principal,
                    current_emi=row.current_emi,
                )
                for row in rows
                if row.loan_id is not None
            ],
        )


# The one way a request gets this service: Litestar DI, on the request's session.
provide_loans = service_provider(LoanService)
