"""Servicing rules: what a payment settles, its split, the EMI after it, payoff and refusals,
the state of a loaded loan, the statement's figures and the schedule from now on."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from credit.lending.amortization import monthly_installment, schedule
from credit.lending.servicing import (
    AbovePayoff,
    AmountNotInPaise,
    BelowInterest,
    LastInstallmentNotPayoff,
    LoanClosed,
    LoanState,
    LoanTerms,
    PaidOnRefused,
    apply_payment,
    balance_after,
    booked_state,
    installments_loaded,
    loaded_state,
    stored_state,
)
from credit.lending.statement import RecordedPayment, planned_schedule, statement_figures

D = Decimal
# 1,00,000 at 12 % for 12 months: the textbook EMI of 8,884.88, 1 % interest a month.
TERMS = LoanTerms(D("100000.00"), D("12"), 12, date(2026, 1, 15))
EMI = D("8884.88")


def booked() -> LoanState:
    return booked_state(TERMS, EMI)


def test_a_payment_of_the_emi_pays_interest_first_and_keeps_the_emi() -> None:
    allocation, after = apply_payment(booked(), EMI, date(2026, 2, 10), date(2026, 2, 10))
    assert allocation.installment == 1
    assert allocation.due_date == date(2026, 2, 15)
    assert allocation.interest == D("1000.00")  # 1,00,000 x 1 %
    assert allocation.principal == D("7884.88")
    assert allocation.balance == D("92115.12")
    assert allocation.on_time is True
    assert allocation.monthly_installment == EMI
    assert allocation.repayments_left == 11
    assert after.outstanding_principal == D("92115.12")
    assert after.installments_settled == 1
    assert after.last_paid_on == date(2026, 2, 10)


def test_paid_on_the_due_date_is_on_time_and_a_day_later_is_late() -> None:
    on_due, _ = apply_payment(booked(), EMI, date(2026, 2, 15), date(2026, 3, 1))
    late, _ = apply_payment(booked(), EMI, date(2026, 2, 16), date(2026, 3, 1))
    assert on_due.on_time is True
    assert late.on_time is False
    # Lateness changes nothing in the split: interest is one month on the balance.
    assert (late.interest, late.principal) == (on_due.interest, on_due.principal)


def test_a_short_payment_raises_the_emi_over_the_installments_left() -> None:
    allocation, after = apply_payment(booked(), D("5000.00"), date(2026, 2, 15), date(2026, 2, 15))
    assert allocation.principal == D("4000.00")
    assert allocation.balance == D("96000.00")
    assert after.monthly_installment == monthly_installment(D("96000.00"), D("12"), 11)
    assert after.monthly_installment > EMI
    assert allocation.monthly_installment == after.monthly_installment


def test_an_early_larger_payment_lowers_the_emi() -> None:
    allocation, after = apply_payment(booked(), D("20000.00"), date(2026, 1, 20), date(2026, 1, 20))
    assert allocation.principal == D("19000.00")
    assert after.monthly_installment == monthly_installment(D("81000.00"), D("12"), 11)
    assert after.monthly_installment < EMI
    assert allocation.on_time is True


def test_exactly_the_interest_is_accepted_and_leaves_the_balance() -> None:
    allocation, after = apply_payment(booked(), D("1000.00"), date(2026, 2, 1), date(2026, 2, 1))
    assert allocation.principal == 0
    assert after.outstanding_principal == D("100000.00")
    assert after.monthly_installment == monthly_installment(D("100000.00"), D("12"), 11)


def test_under_the_interest_is_refused_naming_it() -> None:
    with pytest.raises(BelowInterest) as refused:
        apply_payment(booked(), D("999.99"), date(2026, 2, 1), date(2026, 2, 1))
    assert refused.value.interest == D("1000.00")
    assert "1000.00" in refused.value.detail
    assert refused.value.field == "amount"


def test_above_the_payoff_is_refused_naming_it_and_the_payoff_closes() -> None:
    state = booked()
    assert state.payoff == D("101000.00")
    with pytest.raises(AbovePayoff) as refused:
        apply_payment(state, D("101000.01"), date(2026, 2, 1), date(2026, 2, 1))
    assert refused.value.payoff == D("101000.00")
    assert "101000.00" in refused.value.detail
    allocation, after = apply_payment(state, D("101000.00"), date(2026, 2, 1), date(2026, 2, 1))
    assert allocation.balance == 0
    assert allocation.repayments_left == 0
    assert allocation.monthly_installment == 0
    assert after.closed
    assert after.next_due_date is None
    with pytest.raises(LoanClosed):
        apply_payment(after, D("1.00"), date(2026, 2, 2), date(2026, 2, 2))
    # Closed comes first: a paid-off loan is a 409 whatever else is wrong with the request.
    with pytest.raises(LoanClosed):
        apply_payment(after, D("0.001"), date(2027, 1, 1), date(2026, 2, 2))


def test_the_last_installment_must_be_the_payoff() -> None:
    terms = LoanTerms(D("1000.00"), D("12"), 2, date(2026, 1, 1))
    first, state = apply_payment(
        booked_state(terms, monthly_installment(D(1000), D(12), 2)),
        D("507.51"),
        date(2026, 2, 1),
        date(2026, 2, 1),
    )
    assert first.balance == D("502.49")
    assert state.amount_due == state.payoff == D("507.51")  # 502.49 + 5.02
    with pytest.raises(LastInstallmentNotPayoff) as refused:
        apply_payment(state, D("507.50"), date(2026, 3, 1), date(2026, 3, 1))
    assert refused.value.payoff == D("507.51")
    last, after = apply_payment(state, D("507.51"), date(2026, 3, 1), date(2026, 3, 1))
    assert last.installment == 2
    assert after.closed
    assert after.repayments_left == 0


@pytest.mark.parametrize("amount", [D("0"), D("-1.00"), D("100.005")])
def test_amounts_must_be_positive_paise(amount: Decimal) -> None:
    with pytest.raises(AmountNotInPaise):
        apply_payment(booked(), amount, date(2026, 2, 1), date(2026, 2, 1))


def test_paid_on_rules() -> None:
    with pytest.raises(PaidOnRefused, match="after today") as future:
        apply_payment(booked(), EMI, date(2026, 2, 2), date(2026, 2, 1))
    assert future.value.field == "paid_on"
    with pytest.raises(PaidOnRefused, match="before the loan's start"):
        apply_payment(booked(), EMI, date(2026, 1, 14), date(2026, 2, 1))
    _, state = apply_payment(booked(), EMI, date(2026, 2, 10), date(2026, 2, 10))
    with pytest.raises(PaidOnRefused, match="last payment"):
        apply_payment(state, EMI, date(2026, 2, 9), date(2026, 2, 10))
    # The start day itself and the same day as the last payment are fine.
    apply_payment(booked(), EMI, date(2026, 1, 15), date(2026, 1, 15))
    apply_payment(state, EMI, date(2026, 2, 10), date(2026, 2, 10))


def test_a_recalculated_emi_never_exceeds_the_next_payoff() -> None:
    # A short payment on the second-to-last installment leaves one: the new EMI is the payoff.
    terms = LoanTerms(D("1000.00"), D("12"), 2, date(2026, 1, 1))
    _, after = apply_payment(
        booked_state(terms, D("507.51")), D("10.00"), date(2026, 2, 1), date(2026, 2, 1)
    )
    assert after.monthly_installment == after.payoff == D("1000.00") + D("10.00")


def test_a_loaded_loan_starts_as_of_its_load_day() -> None:
    # Loaded on 20 May 2026: installments of 15 Feb, Mar, Apr, May are due, so settled.
    loaded_on = date(2026, 5, 20)
    recorded = D("8900.00")  # the file's Monthly payment, not the formula's 8,884.88
    state = loaded_state(TERMS, recorded, loaded_on)
    assert installments_loaded(TERMS, loaded_on) == 4
    assert state.installments_settled == 4
    formula = schedule(TERMS.loan_amount, TERMS.interest_rate, 12, TERMS.start_date)
    assert state.outstanding_principal == formula[3].balance
    assert state.monthly_installment == recorded
    assert state.repayments_left == 8
    assert state.next_due_date == date(2026, 6, 15)
    # Paying the recorded EMI keeps it; the split is on the formula balance.
    allocation, _ = apply_payment(state, recorded, date(2026, 6, 15), date(2026, 6, 15))
    assert allocation.installment == 5
    assert allocation.interest == (formula[3].balance / 100).quantize(D("0.01"))
    assert allocation.monthly_installment == recorded


def test_a_loaded_loan_past_its_end_is_closed() -> None:
    state = loaded_state(TERMS, EMI, date(2027, 3, 1))
    assert state.installments_settled == 12
    assert state.closed
    assert state.repayments_left == 0
    assert state.monthly_installment == 0
    assert balance_after(TERMS, 0) == TERMS.loan_amount


def test_a_state_with_a_balance_and_no_installment_left_cannot_be_made() -> None:
    with pytest.raises(ValueError, match="no balance"):
        LoanState(TERMS, D("1.00"), 12, EMI)
    with pytest.raises(ValueError, match="negative"):
        LoanState(TERMS, D("-0.01"), 3, EMI)


def _record(
    state: LoanState, amount: Decimal, paid_on: date, payment_id: int
) -> tuple[RecordedPayment, LoanState]:
    allocation, after = apply_payment(state, amount, paid_on, paid_on)
    recorded = RecordedPayment(
        payment_id,
        allocation.installment,
        allocation.paid_on,
        allocation.amount,
        allocation.interest,
        allocation.principal,
        allocation.balance,
        allocation.on_time,
    )
    return recorded, after


def test_statement_counts_loaded_installments_payments_and_overdue_ones() -> None:
    loaded_on = date(2026, 5, 20)
    recorded_emi = D("8900.00")
    state = loaded_state(TERMS, recorded_emi, loaded_on)
    first, state = _record(state, recorded_emi, date(2026, 6, 14), 1)
    # Nothing paid since: the installments of 15 Jul and 15 Aug have passed by 1 Sep.
    figures = statement_figures(state, 4, recorded_emi, [first], date(2026, 9, 1))
    assert figures.amount_paid == recorded_emi * 4 + recorded_emi
    assert figures.repayments_left == 7
    assert figures.next_due_date == date(2026, 7, 15)
    assert figures.overdue_installments == 2
    assert figures.days_past_due == (date(2026, 9, 1) - date(2026, 7, 15)).days
    # On the due day itself the installment is not yet overdue.
    on_due = statement_figures(state, 4, recorded_emi, [first], date(2026, 7, 15))
    assert (on_due.overdue_installments, on_due.days_past_due) == (0, 0)
    the_day_after = statement_figures(state, 4, recorded_emi, [first], date(2026, 7, 16))
    assert (the_day_after.overdue_installments, the_day_after.days_past_due) == (1, 1)


def test_a_closed_loan_has_no_next_due_date_and_nothing_overdue() -> None:
    payment, state = _record(booked(), D("101000.00"), date(2026, 2, 1), 7)
    figures = statement_figures(state, 0, EMI, [payment], date(2027, 6, 1))
    assert figures.next_due_date is None
    assert (figures.overdue_installments, figures.days_past_due, figures.repayments_left) == (
        0,
        0,
        0,
    )
    assert figures.amount_paid == D("101000.00")


def test_the_schedule_of_an_untouched_loan_is_the_formula_schedule() -> None:
    lines = planned_schedule(booked(), 0, [])
    formula = schedule(TERMS.loan_amount, TERMS.interest_rate, 12, TERMS.start_date)
    assert [(r.number, r.due_date, r.emi, r.interest, r.principal, r.balance) for r in lines] == [
        (r.number, r.due_date, r.emi, r.interest, r.principal, r.balance) for r in formula
    ]
    assert all(line.settled_by is None for line in lines)


def test_the_schedule_shows_what_settled_each_installment_and_plans_the_rest() -> None:
    loaded_on = date(2026, 3, 1)  # one installment (15 Feb) settled by the files
    state = loaded_state(TERMS, EMI, loaded_on)
    payment, state = _record(state, D("20000.00"), date(2026, 3, 10), 41)
    lines = planned_schedule(state, 1, [payment])
    assert [line.settled_by for line in lines[:2]] == ["loading", "payment"]
    assert lines[1].payment_id == 41
    assert lines[1].paid_on == date(2026, 3, 10)
    assert lines[1].balance == state.outstanding_principal
    assert [line.number for line in lines] == list(range(1, 13))
    planned = lines[2:]
    assert all(line.settled_by is None for line in planned)
    assert all(line.emi == state.monthly_installment for line in planned[:-1])
    assert planned[-1].balance == 0
    assert sum(line.principal for line in lines) == TERMS.loan_amount


def test_the_plan_at_a_recorded_emi_below_the_formula_ends_with_a_larger_payoff() -> None:
    recorded = D("8000.00")  # under the formula's 8,884.88: the last installment absorbs it
    state = loaded_state(TERMS, recorded, date(2026, 3, 1))
    planned = planned_schedule(state, 1, [])[1:]
    assert all(line.emi == recorded for line in planned[:-1])
    assert planned[-1].emi > recorded
    assert planned[-1].balance == 0
    assert planned[-1].principal == planned[-2].balance


def test_a_stored_row_reads_as_its_state() -> None:
    # No payment yet: B from the schedule after s, e the loan's EMI.
    loaded = stored_state(TERMS, D("8900.00"), 4, None, None)
    assert loaded == loaded_state(TERMS, D("8900.00"), date(2026, 5, 20))
    assert stored_state(TERMS, EMI, 0, None, None) == booked()
    # After payments, the stored B and e are the state.
    _, paid = apply_payment(booked(), D("20000.00"), date(2026, 1, 20), date(2026, 1, 20))
    stored = stored_state(
        TERMS,
        EMI,
        paid.installments_settled,
        paid.outstanding_principal,
        paid.monthly_installment,
        paid.last_paid_on,
    )
    assert stored == paid
    # Every installment settled by the files: closed.
    assert stored_state(TERMS, EMI, 12, None, None).closed
