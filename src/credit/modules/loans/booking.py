"""Booking a loan: the policy's decision and the insert, optimistically, one claim at a time.

A booking reads the customer's book in one statement (with `BookVersion`: the customer's
booking version and the book's generation), decides, and books with one conditional write
that raises the customer's booking version only if both are still what it read, and inserts
the loan only if it did (on PostgreSQL one statement; on SQLite two in a transaction). Two
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
from datetime import date
from decimal import Decimal

import msgspec

from credit.lending.amortization import monthly_installment, plain
from credit.lending.policy import CreditPolicy, LoanRequest
from credit.lending.underwriting import assess
from credit.modules.customers.service import CustomerService
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
    """What came of an application: the booked loan, or None and the reason."""

    loan: BookedLoan | None
    message: str
    # The EMI at the requested rate: what the borrower pays if booked, or would have paid.
    monthly_installment: Decimal


class BookingDesk:
    """Books for one request, on that request's services (and so on its one session)."""

    def __init__(
        self,
        loans: LoanService,
        customers: CustomerService,
        policy: CreditPolicy,
        gate: BookingGate,
        writes: IdempotentWrites,
        today: date,
    ) -> None:
        self.loans = loans
        self.customers = customers
        self.policy = policy
        self.gate = gate
        self.writes = writes
        self.today = today

    async def book(self, customer_id: int, request: LoanRequest) -> Booking:
        """Book as of the desk's day (the request's today)."""
        today = self.today
        installment = monthly_installment(request.amount, request.interest_rate, request.tenure)
        async with self.gate.hold(customer_id):
            for _ in range(OPTIMISTIC_ATTEMPTS):
                booking = await self._attempt(customer_id, request, installment, today)
                if booking is not None:
                    return booking
            # This customer's book keeps moving under us: queue behind its row lock instead.
            # Holding it, nothing can change the version read next, so the claim succeeds.
            # Lock and read are two statements: under READ COMMITTED only a statement that
            # starts after the lock is granted sees what the previous holder committed.
            async with self.loans.transaction():
                await self.customers.lock(customer_id)
                booking = await self._attempt(customer_id, request, installment, today)
        if booking is None:  # nothing else can move the version while the row is held
            raise RuntimeError(f"a booking for customer {customer_id} lost its claim under lock")
        return booking

    async def _attempt(
        self,
        customer_id: int,
        request: LoanRequest,
        installment: Decimal,
        today: date,
    ) -> Booking | None:
        """Decide on the customer's book as read now and book if approved; None when the book
        moved between the read and the claim (nothing was written then)."""
        book = await self.loans.customer_book(customer_id, today)
        assessment = assess(
            book.history, book.monthly_income, book.current_emis, request, self.policy
        )
        decision = assessment.decision
        if not decision.approval:
            return Booking(None, decision.message, installment)
        if decision.corrected_interest_rate != request.interest_rate:
            # Never book at a rate the borrower did not ask for: say what would be accepted.
            return Booking(
                None,
                f"Not approved at {plain(request.interest_rate)}% a year: credit score "
                f"{assessment.score.score} needs at least {plain(decision.slab.min_rate)}%. "
                f"Apply again at {plain(decision.corrected_interest_rate)}% or more.",
                installment,
            )
        loan = await self.loans.book_loan(
            customer_id,
            book.version,
            request.amount,
            request.interest_rate,
            request.tenure,
            installment,
            today,
        )
        if loan is None:
            return None
        return Booking(
            loan, f"Loan approved and booked; it ends on {loan.end_date.isoformat()}.", installment
        )
