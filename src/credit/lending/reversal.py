"""Reversing a payment that bounced: the loan goes back exactly to its state before it.

A payment records the loan's `B`, `e` and last payment date from before it (`s` was its
installment minus one), so the state comes back as it was, not as a recomputation would make
it: a loan the payment closed is current again. Only the latest standing payment of a loan
can be reversed, so no later payment ever rests on a state that is taken back. Payments
recorded before they kept their state are replayed from the loan's first state instead.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from credit.errors import Conflict, NotFound
from credit.lending.servicing import LoanState, apply_payment, stored_state
from credit.lending.statement import RecordedPayment, standing_payments


class NotTheLatestPayment(Conflict):
    """Only the latest standing payment of a loan can be reversed (409, naming it)."""

    def __init__(self, payment_id: int, latest: int | None) -> None:
        if latest is None:
            detail = f"payment {payment_id} is already reversed; the loan has no payment to reverse"
        else:
            detail = (
                f"payment {payment_id} is not the latest standing payment of its loan; only "
                f"the latest, payment {latest}, can be reversed"
            )
        super().__init__(detail, {"latest_payment_id": latest})
        self.latest = latest


def reversible(payments: list[RecordedPayment], payment_id: int) -> RecordedPayment:
    """The payment to reverse: it must be the loan's latest standing payment."""
    found = next((p for p in payments if p.payment_id == payment_id), None)
    if found is None:
        raise NotFound(f"The loan has no payment {payment_id}.")
    standing = standing_payments(payments)
    latest = max(standing, key=lambda p: p.installment) if standing else None
    if latest is None or latest.payment_id != payment_id:
        raise NotTheLatestPayment(payment_id, None if latest is None else latest.payment_id)
    return found


def restored(
    state: LoanState,
    payment: RecordedPayment,
    payments: list[RecordedPayment],
    loaded: int,
    recorded_emi: Any,
) -> LoanState:
    """The loan's state before `payment`: `s = installment - 1`, `B` and `e` as they were."""
    if payment.before_outstanding_principal is not None and payment.before_current_emi is not None:
        return LoanState(
            state.terms,
            payment.before_outstanding_principal,
            payment.installment - 1,
            payment.before_current_emi,
            payment.before_last_paid_on,
        )
    # Recorded before payments kept their state: replay the standing payments before it.
    replayed = stored_state(state.terms, recorded_emi, loaded, None, None)
    for earlier in standing_payments(payments):
        if earlier.installment >= payment.installment:
            break
        _, replayed = apply_payment(replayed, earlier.amount, earlier.paid_on, date.max)
    return replayed


def before_of(state: LoanState) -> dict[str, object]:
    """What a payment records of the state it starts from (its `before_*` columns)."""
    return {
        "before_outstanding_principal": state.outstanding_principal,
        "before_current_emi": state.monthly_installment,
        "before_last_paid_on": state.last_paid_on,
    }
