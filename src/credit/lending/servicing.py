"""Loan servicing: what a payment settles and how it splits (what a statement and the
schedule show, read off the state: `credit.lending.statement`).

A loan's state is its outstanding principal `B`, the installments settled `s` and its
current EMI `e` (the contract's "Servicing" section). These pure functions take a state and
a payment and give the split and the next state, or refuse the payment with a domain error;
the statement and the plan from now on are read off the state. Money is exact and rounded
half up to the paisa, with the same arithmetic as `amortization.schedule`, so paying the
EMI on every due date reproduces the schedule to the paisa.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

import msgspec

from credit.lending.amortization import (
    add_months,
    installments_due,
    monthly_installment,
    monthly_rate,
    plain,
    to_money,
)

ZERO = Decimal("0.00")


class LoanTerms(msgspec.Struct, frozen=True):
    """What was agreed: the amount lent, the yearly rate, the installments and the start."""

    loan_amount: Decimal
    interest_rate: Decimal
    tenure: int
    start_date: date

    def due_date(self, installment: int) -> date:
        return add_months(self.start_date, installment)


class LoanState(msgspec.Struct, frozen=True):
    """Where a loan stands: `B`, `s`, `e`, and the date of its last payment (payments are
    recorded in date order). A closed loan has `B = 0` and `e = 0`."""

    terms: LoanTerms
    outstanding_principal: Decimal
    installments_settled: int
    monthly_installment: Decimal
    last_paid_on: date | None = None

    def __post_init__(self) -> None:
        # The last installment must be the payoff, so every installment settled means
        # nothing left to pay: a state with a balance and no installment left cannot arise.
        if not 0 <= self.installments_settled <= self.terms.tenure:
            raise ValueError("installments_settled must be within 0..tenure")
        if self.outstanding_principal < 0:
            raise ValueError("outstanding_principal cannot be negative")
        if self.installments_settled == self.terms.tenure and self.outstanding_principal:
            raise ValueError("a loan with every installment settled has no balance")

    @property
    def closed(self) -> bool:
        return self.outstanding_principal == 0

    @property
    def repayments_left(self) -> int:
        """Installments not yet settled; 0 once the loan is paid off, early or not."""
        return 0 if self.closed else self.terms.tenure - self.installments_settled

    @property
    def next_installment(self) -> int | None:
        return None if self.closed else self.installments_settled + 1

    @property
    def next_due_date(self) -> date | None:
        number = self.next_installment
        return None if number is None else self.terms.due_date(number)

    @property
    def interest_due(self) -> Decimal:
        """Interest the next installment charges: one month on the outstanding balance."""
        return to_money(self.outstanding_principal * monthly_rate(self.terms.interest_rate))

    @property
    def payoff(self) -> Decimal:
        """What closes the loan now: the balance plus the next installment's interest."""
        return self.outstanding_principal + self.interest_due

    @property
    def amount_due(self) -> Decimal:
        """What the next installment asks for: the EMI, or the payoff when that is less or when
        it is the last installment (which must close the loan). 0 for a closed loan."""
        if self.closed:
            return ZERO
        if self.installments_settled + 1 == self.terms.tenure:
            return self.payoff
        return min(self.monthly_installment, self.payoff)


# --- Refusals -----------------------------------------------------------------------------------


class PaymentRefused(Exception):
    """A payment the rules do not accept; nothing is recorded. `field` names the request field
    at fault (None when it is the loan itself), `detail` says why in the lender's words."""

    field: str | None = "amount"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class LoanClosed(PaymentRefused):
    field = None

    def __init__(self) -> None:
        super().__init__("the loan is paid off: there is nothing left to pay")


class AmountNotInPaise(PaymentRefused):
    def __init__(self, amount: Decimal) -> None:
        super().__init__(f"amount {plain(amount)} must be more than 0 with at most 2 decimals")


class BelowInterest(PaymentRefused):
    def __init__(self, interest: Decimal) -> None:
        super().__init__(f"amount is under this installment's interest of {interest}")
        self.interest = interest


class AbovePayoff(PaymentRefused):
    def __init__(self, payoff: Decimal) -> None:
        super().__init__(f"amount is above the payoff of {payoff}, which closes the loan")
        self.payoff = payoff


class LastInstallmentNotPayoff(PaymentRefused):
    def __init__(self, payoff: Decimal) -> None:
        super().__init__(f"this is the last installment: it must be the payoff of {payoff}")
        self.payoff = payoff


class PaidOnRefused(PaymentRefused):
    field = "paid_on"


# --- Starting states ----------------------------------------------------------------------------


def booked_state(terms: LoanTerms, emi: Decimal) -> LoanState:
    """A loan booked through the API: nothing settled, the whole amount outstanding."""
    return LoanState(terms, terms.loan_amount, 0, emi)


def installments_loaded(terms: LoanTerms, loaded_on: date) -> int:
    """Installments the files count as settled: those due on or before the day of loading."""
    return installments_due(terms.start_date, terms.tenure, loaded_on)


@lru_cache(maxsize=4096)
def balance_after(terms: LoanTerms, installments: int) -> Decimal:
    """The formula schedule's balance after `installments` (the loan amount after none).
    Cached: every read of a loaded loan without payments needs it, and it is a whole
    schedule's arithmetic."""
    if installments == 0:
        return terms.loan_amount
    # `amortization.schedule`'s arithmetic, balance only (no due dates, no rows): the close of
    # day works it out for every loan loaded without payments.
    emi = monthly_installment(terms.loan_amount, terms.interest_rate, terms.tenure)
    r = monthly_rate(terms.interest_rate)
    balance = terms.loan_amount
    for number in range(1, installments + 1):
        interest = to_money(balance * r)
        balance -= balance if number == terms.tenure else min(emi - interest, balance)
    return balance


def loaded_state(
    terms: LoanTerms, recorded_emi: Decimal, loaded_on: date, settled: int | None = None
) -> LoanState:
    """A loan from the files, as of the day it was loaded: `s` installments due by then, `B`
    the formula schedule's balance after them (the schedule always follows the formula, so `B`
    is what `GET /api/loans/{id}/schedule` shows), `e` the file's `Monthly payment`. `settled`
    passes a stored `s` when one is known."""
    s = installments_loaded(terms, loaded_on) if settled is None else settled
    balance = balance_after(terms, s)
    return LoanState(terms, balance, s, ZERO if balance == 0 else recorded_emi)


def stored_state(
    terms: LoanTerms,
    monthly_installment: Decimal,
    installments_settled: int,
    outstanding_principal: Decimal | None,
    current_emi: Decimal | None,
    last_paid_on: date | None = None,
) -> LoanState:
    """The state of a stored loan row. `B` and `e` are NULL until a first payment writes them:
    then `B` is the formula schedule's balance after the installments settled (the loan amount
    for a booked loan, the as-loaded balance for a loaded one) and `e` the loan's EMI."""
    if outstanding_principal is not None:
        emi = ZERO if outstanding_principal == 0 else current_emi
        return LoanState(
            terms,
            outstanding_principal,
            installments_settled,
            monthly_installment if emi is None else emi,
            last_paid_on,
        )
    balance = balance_after(terms, installments_settled)
    emi = ZERO if balance == 0 else monthly_installment if current_emi is None else current_emi
    return LoanState(terms, balance, installments_settled, emi, last_paid_on)


# --- Payments -----------------------------------------------------------------------------------


class Allocation(msgspec.Struct, frozen=True):
    """How one payment settled its installment, and where it leaves the loan."""

    installment: int
    due_date: date
    paid_on: date
    amount: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal
    on_time: bool
    monthly_installment: Decimal
    repayments_left: int


def recalculated_emi(state: LoanState) -> Decimal:
    """The EMI over the installments still to come, from the current balance: the formula
    EMI, never more than the next payoff (rounding at one installment left could put it a
    paisa above). 0 for a closed loan."""
    if state.closed:
        return ZERO
    remaining = state.terms.tenure - state.installments_settled
    emi = monthly_installment(state.outstanding_principal, state.terms.interest_rate, remaining)
    return min(emi, state.payoff)


def check_paid_on(state: LoanState, paid_on: date, today: date) -> None:
    if paid_on > today:
        raise PaidOnRefused(f"paid_on {paid_on} is after today ({today})")
    if paid_on < state.terms.start_date:
        raise PaidOnRefused(
            f"paid_on {paid_on} is before the loan's start ({state.terms.start_date})"
        )
    if state.last_paid_on is not None and paid_on < state.last_paid_on:
        raise PaidOnRefused(
            f"paid_on {paid_on} is before the loan's last payment ({state.last_paid_on})"
        )


def check_amount(state: LoanState, amount: Decimal) -> Decimal:
    """The interest of the next installment when `amount` may settle it; refuses otherwise."""
    if state.closed:
        raise LoanClosed()
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise AmountNotInPaise(amount)
    interest, payoff = state.interest_due, state.payoff
    if amount < interest:
        raise BelowInterest(interest)
    if amount > payoff:
        raise AbovePayoff(payoff)
    if state.installments_settled + 1 == state.terms.tenure and amount != payoff:
        raise LastInstallmentNotPayoff(payoff)
    return interest


def apply_payment(
    state: LoanState, amount: Decimal, paid_on: date, today: date
) -> tuple[Allocation, LoanState]:
    """Settle installment `s + 1` with `amount`: interest first, the rest principal.

    The EMI stays when the amount is the EMI, and is recalculated over the installments still
    to come when it is not (the assignment's rule). Exactly the payoff closes the loan. A
    closed loan is refused before anything else is looked at.
    """
    if state.closed:
        raise LoanClosed()
    check_paid_on(state, paid_on, today)
    interest = check_amount(state, amount)
    number = state.installments_settled + 1
    principal = amount - interest
    balance = state.outstanding_principal - principal
    after = LoanState(state.terms, balance, number, state.monthly_installment, paid_on)
    if balance == 0:
        after = LoanState(state.terms, ZERO, number, ZERO, paid_on)
    elif amount != state.monthly_installment:
        after = LoanState(state.terms, balance, number, recalculated_emi(after), paid_on)
    due = state.terms.due_date(number)
    allocation = Allocation(
        installment=number,
        due_date=due,
        paid_on=paid_on,
        amount=amount,
        interest=interest,
        principal=principal,
        balance=balance,
        on_time=paid_on <= due,
        monthly_installment=after.monthly_installment,
        repayments_left=after.repayments_left,
    )
    return allocation, after
