"""What a loan's statement and its schedule show, read off its servicing state
(`credit.lending.servicing`) and the payments that settled its installments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import msgspec

from credit.lending.amortization import (
    installments_due,
    monthly_installment,
    monthly_rate,
    schedule,
    to_money,
)
from credit.lending.servicing import ZERO, LoanState, stored_state


class RecordedPayment(msgspec.Struct, frozen=True):
    """A payment as stored: its split and the installment it settled, the bank's reference
    (collections), the loan's state before it and, once it bounced, its reversal. A reversed
    payment is shown on the statement and counts nowhere else."""

    payment_id: int
    installment: int
    paid_on: date
    amount: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal
    on_time: bool
    reference: str | None = None
    before_outstanding_principal: Decimal | None = None
    before_current_emi: Decimal | None = None
    before_last_paid_on: date | None = None
    reversed_on: date | None = None
    reversal_reason: str | None = None

    @property
    def reversed(self) -> bool:
        return self.reversed_on is not None


def standing_payments(payments: list[RecordedPayment]) -> list[RecordedPayment]:
    """The payments that count: every one not reversed."""
    return [p for p in payments if p.reversed_on is None]


class LoanStanding(msgspec.Struct, frozen=True):
    """The one read of where a loan stands today, which every view of the loan shows: `e`,
    the installments left, `B`, whether it is current, the next due date and what is
    overdue. An installment is overdue once its due date has passed (the day after it falls
    due) while it is unsettled; `days_past_due` counts from the oldest of them, which is
    always the next installment."""

    monthly_installment: Decimal
    repayments_left: int
    outstanding_principal: Decimal
    status: str  # "current" or "closed"
    next_due_date: date | None
    overdue_installments: int
    days_past_due: int


def standing(state: LoanState, today: date) -> LoanStanding:
    overdue = 0
    if not state.closed:
        passed = installments_due(
            state.terms.start_date, state.terms.tenure, today - timedelta(days=1)
        )
        overdue = max(0, passed - state.installments_settled)
    next_due = state.next_due_date
    return LoanStanding(
        monthly_installment=state.monthly_installment,
        repayments_left=state.repayments_left,
        outstanding_principal=state.outstanding_principal,
        status="closed" if state.closed else "current",
        next_due_date=next_due,
        overdue_installments=overdue,
        days_past_due=(today - next_due).days if overdue and next_due else 0,
    )


class StatementFigures(msgspec.Struct, frozen=True):
    amount_paid: Decimal
    monthly_installment: Decimal
    repayments_left: int
    outstanding_principal: Decimal
    next_due_date: date | None
    overdue_installments: int
    days_past_due: int


def statement_figures(
    state: LoanState,
    loaded: int,
    recorded_emi: Decimal,
    payments: list[RecordedPayment],
    today: date,
) -> StatementFigures:
    """The statement's numbers: the loan's standing, and `amount_paid`, every settled
    installment: the `loaded` ones at the recorded EMI, plus every payment not reversed."""
    paid = recorded_emi * loaded + sum((p.amount for p in standing_payments(payments)), ZERO)
    now = standing(state, today)
    return StatementFigures(
        amount_paid=to_money(paid),
        monthly_installment=now.monthly_installment,
        repayments_left=now.repayments_left,
        outstanding_principal=now.outstanding_principal,
        next_due_date=now.next_due_date,
        overdue_installments=now.overdue_installments,
        days_past_due=now.days_past_due,
    )


class ScheduleLine(msgspec.Struct, frozen=True):
    """One installment of the schedule from now on: `settled_by` is "loading" (settled as the
    files say), "payment" (with that payment's date and split) or None (planned)."""

    number: int
    due_date: date
    emi: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal
    settled_by: str | None = None
    payment_id: int | None = None
    paid_on: date | None = None
    on_time: bool | None = None


def planned_schedule(
    state: LoanState, loaded: int, payments: list[RecordedPayment]
) -> list[ScheduleLine]:
    """Every installment: the `loaded` ones as the formula schedule splits them, then each
    payment as it split, then the plan from the current balance at the current EMI (interest
    on the opening balance, the last installment taking what is left, as in
    `amortization.schedule`). A closed loan's plan is empty. Reversed payments settled
    nothing."""
    terms = state.terms
    payments = standing_payments(payments)
    lines: list[ScheduleLine] = []
    if loaded:
        formula = schedule(terms.loan_amount, terms.interest_rate, terms.tenure, terms.start_date)
        lines.extend(
            ScheduleLine(
                row.number,
                row.due_date,
                row.emi,
                row.interest,
                row.principal,
                row.balance,
                "loading",
            )
            for row in formula[:loaded]
        )
    lines.extend(
        ScheduleLine(
            p.installment,
            terms.due_date(p.installment),
            p.amount,
            p.interest,
            p.principal,
            p.balance,
            "payment",
            p.payment_id,
            p.paid_on,
            p.on_time,
        )
        for p in payments
    )
    if state.closed:
        return lines
    r = monthly_rate(terms.interest_rate)
    balance, emi = state.outstanding_principal, state.monthly_installment
    for number in range(state.installments_settled + 1, terms.tenure + 1):
        interest = to_money(balance * r)
        part = balance if number == terms.tenure else max(ZERO, min(emi - interest, balance))
        balance -= part
        lines.append(
            ScheduleLine(number, terms.due_date(number), interest + part, interest, part, balance)
        )
    return lines


class LoanPlan(msgspec.Struct, frozen=True):
    """The schedule a loan shows: at the formula EMI, every installment first to last."""

    monthly_installment: Decimal
    lines: list[ScheduleLine]


def loan_plan(state: LoanState, loaded: int, payments: list[RecordedPayment]) -> LoanPlan:
    """The schedule's rule: before any payment the plan is the formula schedule (at the
    formula EMI, whatever the files recorded), as the contract has it; once payments are
    recorded, the settled installments and the plan from the current balance."""
    terms = state.terms
    formula_emi = monthly_installment(terms.loan_amount, terms.interest_rate, terms.tenure)
    if not standing_payments(payments):
        state = stored_state(terms, formula_emi, state.installments_settled, None, None)
    return LoanPlan(formula_emi, planned_schedule(state, loaded, payments))
