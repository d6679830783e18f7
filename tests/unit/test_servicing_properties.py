"""Properties of servicing, checked by hypothesis: paying the EMI on every due date is the
schedule to the paisa; whatever payments are accepted, the balance never goes negative and the
principal parts add up to the loan amount when it is paid off."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from credit.lending.amortization import monthly_installment, schedule
from credit.lending.servicing import (
    LoanState,
    LoanTerms,
    PaymentRefused,
    apply_payment,
    booked_state,
    loaded_state,
)
from credit.lending.statement import RecordedPayment, planned_schedule

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

amounts = st.decimals(min_value="0.01", max_value="10000000000", places=2)
rates = st.decimals(min_value="0", max_value="100", places=4)
tenures = st.integers(min_value=1, max_value=120)
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))


@PROPERTY_SETTINGS
@given(principal=amounts, rate=rates, tenure=tenures, start=starts)
def test_paying_the_emi_on_every_due_date_is_the_schedule(
    principal: Decimal, rate: Decimal, tenure: int, start: date
) -> None:
    emi = monthly_installment(principal, rate, tenure)
    assume(emi > 0)  # a payment is more than 0: a loan whose EMI rounds to 0.00 cannot be paid so
    rows = schedule(principal, rate, tenure, start)
    state = booked_state(LoanTerms(principal, rate, tenure, start), emi)
    for row in rows:
        if state.closed:
            # Rounding the EMI up can repay a tiny loan before its last installment; the
            # schedule then shows the installments after it as zero.
            assert row.emi == row.principal == row.balance == 0
            continue
        assert state.amount_due == row.emi
        allocation, state = apply_payment(state, row.emi, row.due_date, row.due_date)
        assert (allocation.interest, allocation.principal, allocation.balance) == (
            row.interest,
            row.principal,
            row.balance,
        )
        assert allocation.on_time
        assert allocation.monthly_installment in (emi, 0)
    assert state.closed
    assert state.outstanding_principal == 0
    assert state.repayments_left == 0


def _paying(data: st.DataObject, state: LoanState) -> Decimal:
    """An amount around the rules' edges: the amount due, the payoff, anything between the
    interest and the payoff, or a paisa outside them."""
    interest, payoff = state.interest_due, state.payoff
    kind = data.draw(st.sampled_from(["due", "payoff", "between", "under", "over"]))
    if kind == "due":
        return state.amount_due
    if kind == "payoff":
        return payoff
    if kind == "under":
        return interest - Decimal("0.01")
    if kind == "over":
        return payoff + Decimal("0.01")
    low = max(interest, Decimal("0.01"))
    return data.draw(st.decimals(min_value=low, max_value=max(low, payoff), places=2))


@PROPERTY_SETTINGS
@given(
    principal=st.decimals(min_value="0.01", max_value="10000000", places=2),
    rate=rates,
    tenure=st.integers(min_value=1, max_value=36),
    loaded=st.integers(min_value=0, max_value=36),
    recorded_offset=st.decimals(min_value="-50", max_value="50", places=2),
    data=st.data(),
)
def test_any_accepted_payments_keep_the_balance_and_repay_exactly_the_loan(
    principal: Decimal,
    rate: Decimal,
    tenure: int,
    loaded: int,
    recorded_offset: Decimal,
    data: st.DataObject,
) -> None:
    start = date(2025, 1, 31)
    terms = LoanTerms(principal, rate, tenure, start)
    emi = monthly_installment(principal, rate, tenure)
    if loaded:
        # A loaded loan, whose recorded EMI may differ from the formula's.
        recorded = max(Decimal("0.01"), emi + recorded_offset)
        state = loaded_state(terms, recorded, terms.due_date(min(loaded, tenure)))
    else:
        state = booked_state(terms, emi)
    repaid = principal - state.outstanding_principal
    settled_on_loading = state.installments_settled
    payments: list[RecordedPayment] = []
    paid_on = start
    for _ in range(3 * tenure + 3):
        if state.closed:
            break
        paid_on = max(paid_on, data.draw(st.dates(min_value=paid_on, max_value=date(2030, 1, 1))))
        amount = _paying(data, state)
        before = state
        try:
            allocation, state = apply_payment(state, amount, paid_on, date(2030, 1, 1))
        except PaymentRefused:
            assert state is before
            continue
        assert allocation.interest + allocation.principal == amount
        assert allocation.principal >= 0
        assert state.outstanding_principal >= 0
        assert state.installments_settled == before.installments_settled + 1
        repaid += allocation.principal
        payments.append(
            RecordedPayment(
                len(payments) + 1,
                allocation.installment,
                paid_on,
                amount,
                allocation.interest,
                allocation.principal,
                allocation.balance,
                allocation.on_time,
            )
        )
        # The schedule from now on: one line per installment, repaying exactly the loan.
        lines = planned_schedule(state, settled_on_loading, payments)
        assert [line.number for line in lines] == list(range(1, len(lines) + 1))
        assert sum(line.principal for line in lines) == principal
        assert all(line.balance >= 0 for line in lines)
    # Every loop pays or refuses; paying the payoff is always possible, so pay it off now.
    if not state.closed:
        allocation, state = apply_payment(state, state.payoff, paid_on, date(2030, 1, 1))
        repaid += allocation.principal
    assert state.closed
    assert repaid == principal
