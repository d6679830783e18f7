"""Booking a loan: the policy's decision and the insert, optimistically, one claim at a time;
every application recorded (`decisions`), with its loan or alone when refused.

A booking reads the customer's book in one statement (with `BookVersion`: the customer's
booking version and the book's generation), decides, and books with one conditional write
that raises the customer's booking version only if both are still what it read, and inserts
the loan and its record only if it did (on PostgreSQL one statement; on SQLite three in a
transaction). Two
bookings for one customer therefore cannot both pass the limit and affordability checks on the
same book: the second finds the version moved, writes nothing and decides again on the new
book. An ingestion raises the book's generation, so a decision read before it is not booked
after it. That is two round trips to the database where locking the customer first took five
(BEGIN, lock, read, insert, COMMIT).

A customer whose book keeps moving (many bookings for them at once) would keep a booking
retrying, so after `OPTIMISTIC_ATTEMPTS` it locks the customer's row and decides under the lock,
where its claim cannot be lost. SQLite has no row locks and the embedded default is one
process, so there one process-wide lock queues bookings as well; SQLite serialises writers
anyway, so nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from credit.lending.amortization import monthly_installment
from credit.lending.policy import CreditPolicy, LoanRequest
from credit.lending.reasons import Reason
from credit.lending.underwriting import ApplicationInputs, assess
from credit.modules.customers.service import CustomerService
from credit.modules.loans.decisions import DecisionService, record_values
from credit.modules.loans.idempotency import IdempotentWrites
from credit.modules.loans.service import BookedLoan, LoanService

# Claims one booking (or payment, `payments.py`) may lose to competing ones (or an ingestion)
# before it queues.
OPTIMISTIC_ATTEMPTS = 3


class BookingGate:
    """One per process (the loans plugin's): queues bookings where the database cannot."""

    def __init__(self, serialise_in_process: bool) -> None:
        self._lock = asyncio.Lock() if serialise_in_process else None

    @asynccontextmanager
    async def hold(self, customer_id: int) -> AsyncIterator[None]:
        if self._lock is None:
            yield
            return
        async with self._lock:
            yield


class Booking(msgspec.Struct, frozen=True):
    """What came of an application: the booked loan, or None and the reasons; and its record."""

    loan: BookedLoan | None
    message: str
    # The EMI at the requested rate: what the borrower pays if booked, or would have paid.
    monthly_installment: Decimal
    decision_id: int
    reasons: tuple[Reason, ...] = ()


class BookingDesk:
    """Books for one request, on that request's services (and so on its one session)."""

    def __init__(
        self,
        loans: LoanService,
        customers: CustomerService,
        decisions: DecisionService,
        policy: CreditPolicy,
        gate: BookingGate,
        writes: IdempotentWrites,
        today: date,
    ) -> None:
        self.loans = loans
        self.customers = customers
        self.decisions = decisions
        self.policy = policy
        self.gate = gate
        self.writes = writes
        self.today = today

    async def book(
        self, customer_id: int, request: LoanRequest, api_key_id: int | None = None
    ) -> Booking:
        """Book as of the desk's day (the request's today), and record the application."""
        today = self.today
        installment = monthly_installment(request.amount, request.interest_rate, request.tenure)
        async with self.gate.hold(customer_id):
            for _ in range(OPTIMISTIC_ATTEMPTS):
                booking = await self._attempt(customer_id, request, installment, today, api_key_id)
                if booking is not None:
                    return booking
            # This customer's book keeps moving under us: queue behind its row lock instead.
            # Holding it, nothing can change the version read next, so the claim succeeds.
            # Lock and read are two statements: under READ COMMITTED only a statement that
            # starts after the lock is granted sees what the previous holder committed.
            async with self.loans.transaction():
                await self.customers.lock(customer_id)
                booking = await self._attempt(customer_id, request, installment, today, api_key_id)
        if booking is None:  # nothing else can move the version while the row is held
            raise RuntimeError(f"a booking for customer {customer_id} lost its claim under lock")
        return booking

    async def _attempt(
        self,
        customer_id: int,
        request: LoanRequest,
        installment: Decimal,
        today: date,
        api_key_id: int | None,
    ) -> Booking | None:
        """Decide on the customer's book as read now and book if approved; None when the book
        moved between the read and the claim (nothing was written then). A refusal is
        recorded alone; an approval with its loan."""
        book = await self.loans.customer_book(customer_id, today)
        inputs = ApplicationInputs(book.history, book.monthly_income, book.current_emis, book.npa)
        assessment = assess(inputs, request, self.policy, rate_must_match=True)
        decision = assessment.decision

        def record(approval: bool) -> dict[str, Any]:
            return record_values(
                request=request,
                inputs=inputs,
                score=assessment.score,
                decision=decision,
                approval=approval,
                monthly_installment=installment,
                policy=self.policy,
                api_key_id=api_key_id,
                today=today,
                decided_at=datetime.now(UTC),
            )

        if not decision.approval:
            decision_id = await self.decisions.record(customer_id, record(False))
            return Booking(None, decision.message, installment, decision_id, decision.reasons)
        loan = await self.loans.book_loan(
            customer_id, book.version, request, installment, today, record(True)
        )
        if loan is None:
            return None
        message = f"Loan approved and booked; it ends on {loan.end_date.isoformat()}."
        return Booking(loan, message, installment, loan.decision_id)
