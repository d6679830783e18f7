"""Booking a loan: the policy's decision and the insert, one customer at a time.

Everything happens in one transaction that first locks the customer's row
(`SELECT ... FOR UPDATE`), so two bookings for one customer cannot both pass the limit and
affordability checks on the same book. SQLite has no row locks and the embedded default is one
process, so there one process-wide lock queues bookings instead; SQLite serialises writers
anyway, so nothing is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from credit.modules.credit.policy import CreditPolicy, LoanRequest
from credit.modules.credit.service import CreditService
from credit.modules.customers.service import CustomerService
from credit.modules.loans.amortization import monthly_installment, plain
from credit.modules.loans.service import BookedLoan, LoanService
from credit.plugins.sql import Database


class BookingGate:
    def __init__(self, serialise_in_process: bool) -> None:
        self._lock = asyncio.Lock() if serialise_in_process else None

    @asynccontextmanager
    async def hold(self, customer_id: int) -> AsyncIterator[None]:
        if self._lock is None:
            yield
            return
        async with self._lock:
            yield


@dataclass(frozen=True, slots=True)
class Booking:
    """What came of an application: the booked loan, or None and the reason."""

    loan: BookedLoan | None
    message: str
    # The EMI at the requested rate: what the borrower pays if booked, or would have paid.
    monthly_installment: Decimal


class BookingDesk:
    def __init__(self, database: Database, policy: CreditPolicy, gate: BookingGate) -> None:
        self.database = database
        self.policy = policy
        self.gate = gate

    async def book(self, customer_id: int, request: LoanRequest, today: date) -> Booking:
        installment = monthly_installment(request.amount, request.interest_rate, request.tenure)
        async with self.gate.hold(customer_id), self.database.transaction() as tx:
            # Lock first, then read, in two statements: under READ COMMITTED each statement
            # sees the data committed before it began, so only a read that starts after the
            # lock is granted sees the loan a competing booking just committed. (Locking inside
            # the aggregate's own statement lets two bookings pass on the same book: the
            # concurrency test in test_api_invariants fails that way.)
            await CustomerService(tx).lock(customer_id)
            loans = LoanService(tx)
            assessment = await CreditService(loans, self.policy).assess(customer_id, request, today)
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
            loan = await loans.book_loan(
                customer_id,
                request.amount,
                request.interest_rate,
                request.tenure,
                installment,
                today,
            )
        # Committed when the block ended, inside the gate: the next booking sees this loan.
        return Booking(
            loan, f"Loan approved and booked; it ends on {loan.end_date.isoformat()}.", installment
        )
