"""Recording a payment: the servicing rules' split and the writes, one payment of a loan at a
time (mirroring `booking.py`).

On PostgreSQL a payment reads the loan unlocked and records itself with one conditional
statement that settles the installment only if the loan is still where it was read; after
`OPTIMISTIC_ATTEMPTS` lost races it queues behind the loan's row lock. SQLite has no row
locks: there payments of one loan queue in-process (`PaymentGate`), in a transaction guarded by
the conditional update, which is also the guard across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec

from credit.errors import Conflict
from credit.lending.reversal import before_of, restored, reversible
from credit.lending.servicing import Allocation, LoanState, PaymentRefused, apply_payment
from credit.modules.loans.booking import OPTIMISTIC_ATTEMPTS
from credit.modules.loans.idempotency import IdempotentWrites
from credit.modules.loans.ledger import PAYMENT_FIELDS
from credit.modules.loans.service import LoanLedger, LoanService

# Attempts a payment makes when another payment of the same loan (another process, on
# SQLite) moved the loan between its read and its write.
SETTLE_ATTEMPTS = 5


class PaymentGate:
    """One per process (the loans plugin's): on SQLite, which has no row locks, payments of
    one loan queue here (striped by loan id, so other loans' payments mostly go on)."""

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


class LoanSettledMeanwhile(Conflict):
    """Another payment settled the installment between this payment's read and its write
    (retried; a 409 only if the loan keeps moving)."""


class RecordedAllocation(msgspec.Struct, frozen=True):
    payment_id: int
    allocation: Allocation


def settlement(
    before: LoanState,
    loan_id: int,
    amount: Decimal,
    paid_on: date,
    today: date,
    reference: str | None = None,
) -> tuple[Allocation, dict[str, Any], dict[str, Any]]:
    """The payment's split (or its refusal), the parameters that settle the installment and
    those that record the payment (with the state before it, for a reversal)."""
    allocation, after = apply_payment(before, amount, paid_on, today)
    now = datetime.now(UTC)
    settle = {
        "loan_id": loan_id,
        "settled_before": before.installments_settled,
        "settled_after": after.installments_settled,
        "counts_on_time": 1 if allocation.on_time else 0,
        "balance_after": after.outstanding_principal,
        "emi_after": after.monthly_installment,
        "last_paid_on_after": paid_on,
        "settled_at": now,
    }
    record = {
        "paid_loan_id": loan_id,
        "paid_at": now,
        **{f"paid_{name}": getattr(allocation, name) for name in PAYMENT_FIELDS},
        "paid_reference": reference,
        **{f"paid_{name}": value for name, value in before_of(before).items()},
    }
    return allocation, settle, record


class CollectedPayment(msgspec.Struct, frozen=True):
    reference: str
    amount: Decimal
    paid_on: date


class Collected(msgspec.Struct):
    """A loan's collected payments applied in memory, in order: the parameters that move the
    loan on (None when none applied), those that record each applied payment, and for each
    payment its split or the refusal's words."""

    settle: dict[str, Any] | None
    records: list[dict[str, Any]]
    outcomes: list[Allocation | str]


def collect(
    loan_id: int, state: LoanState, payments: list[CollectedPayment], today: date
) -> Collected:
    """Apply a loan's payments one after another under make-payment's rules, in memory: a
    refused one leaves the state as it was for the next."""
    start, settle = state, None
    records: list[dict[str, Any]] = []
    outcomes: list[Allocation | str] = []
    on_time = 0
    for payment in payments:
        try:
            allocation, step, record = settlement(
                state, loan_id, payment.amount, payment.paid_on, today, payment.reference
            )
        except PaymentRefused as refused:
            outcomes.append(refused.detail)
            continue
        on_time += step["counts_on_time"]
        state = LoanState(
            state.terms,
            step["balance_after"],
            step["settled_after"],
            step["emi_after"],
            payment.paid_on,
        )
        records.append(record)
        outcomes.append(allocation)
        settle = step | {"settled_before": start.installments_settled, "counts_on_time": on_time}
    return Collected(settle, records, outcomes)


class PaymentDesk:
    """Records payments for one request, on that request's loans service (and session)."""

    def __init__(
        self, loans: LoanService, gate: PaymentGate, writes: IdempotentWrites, today: date
    ) -> None:
        self.loans = loans
        self.gate = gate
        self.writes = writes
        self.today = today

    async def pay(
        self, customer_id: int, loan_id: int, amount: Decimal, paid_on: date | None
    ) -> RecordedAllocation:
        """Record a payment (on `paid_on`, today by default): it settles the loan's next
        installment, together with the loan's new state."""
        paid_on = paid_on or self.today
        writable_ctes = self.loans.writable_ctes
        if writable_ctes:
            for _ in range(OPTIMISTIC_ATTEMPTS):
                recorded = await self._unlocked(customer_id, loan_id, amount, paid_on)
                if recorded is not None:
                    return recorded
        async with self.gate.hold(loan_id, serialise=not writable_ctes):
            for _ in range(SETTLE_ATTEMPTS):
                try:
                    async with self.loans.transaction():
                        return await self._locked(customer_id, loan_id, amount, paid_on)
                except LoanSettledMeanwhile:
                    continue
        raise LoanSettledMeanwhile(f"loan {loan_id} kept moving under its payment")

    async def _unlocked(
        self, customer_id: int, loan_id: int, amount: Decimal, paid_on: date
    ) -> RecordedAllocation | None:
        before = await self.loans.loan_state(customer_id, loan_id)
        allocation, settle, record = settlement(before, loan_id, amount, paid_on, self.today)
        payment_id = await self.loans.settle_and_record(settle | record)
        return None if payment_id is None else RecordedAllocation(payment_id, allocation)

    async def _locked(
        self, customer_id: int, loan_id: int, amount: Decimal, paid_on: date
    ) -> RecordedAllocation:
        before = await self.loans.loan_state(customer_id, loan_id, lock=True)
        allocation, settle, record = settlement(before, loan_id, amount, paid_on, self.today)
        if not await self.loans.settle(settle):
            raise LoanSettledMeanwhile(f"loan {loan_id} moved")
        return RecordedAllocation(await self.loans.record_payment(record), allocation)

    async def reverse(
        self, customer_id: int, loan_id: int, payment_id: int, reason: str
    ) -> LoanLedger:
        """Reverse the loan's latest standing payment (it bounced): the loan goes back to its
        state before it, and the payment stays on the statement, marked reversed on today.
        NotFound for another customer's loan or an unknown payment; a Conflict naming the
        latest payment for any other one."""
        serialise = not self.loans.writable_ctes
        async with self.gate.hold(loan_id, serialise=serialise), self.loans.transaction():
            await self.loans.loan_state(customer_id, loan_id, lock=True)
            ledger = await self.loans.ledger(loan_id, customer_id)
            payment = reversible(ledger.payments, payment_id)
            before = restored(
                ledger.state, payment, ledger.payments, ledger.loaded, ledger.recorded_emi
            )
            settle = {
                "loan_id": loan_id,
                "settled_before": ledger.state.installments_settled,
                "settled_after": before.installments_settled,
                "counts_on_time": -1 if payment.on_time else 0,
                "balance_after": before.outstanding_principal,
                "emi_after": before.monthly_installment,
                "last_paid_on_after": before.last_paid_on,
                "settled_at": datetime.now(UTC),
            }
            if not await self.loans.settle(settle):
                raise LoanSettledMeanwhile(f"loan {loan_id} moved")
            await self.loans.mark_reversed(payment_id, self.today, reason)
        return await self.loans.ledger(loan_id, customer_id)
