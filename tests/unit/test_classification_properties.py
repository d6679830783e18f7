"""The close of day's rules, checked by hypothesis for any schedule and payment history: days
past due on a date and the class they give follow the contract; an NPA never turns SMA without
its arrears cleared; NPA is borrower-wise; a loan's state at the end of a date takes back the
payments dated after it. The close of day's flat rule gives the same figures as the definition
for any customer's loans."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit.lending.amortization import add_months, monthly_installment
from credit.lending.classification import (
    CLASSES,
    NPA,
    STANDARD,
    LaterPayment,
    borrower_wise,
    class_of,
    classify,
    close_customer,
    close_customer_flat,
    days_past_due_on,
    state_on,
    worst,
)
from credit.lending.servicing import LoanTerms, apply_payment, booked_state

PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
classes = st.sampled_from(CLASSES)
days_past_due = st.integers(min_value=0, max_value=2000)


def expected_class(dpd: int) -> str:
    if dpd == 0:
        return "standard"
    if dpd <= 30:
        return "SMA-0"
    if dpd <= 60:
        return "SMA-1"
    if dpd <= 90:
        return "SMA-2"
    return "NPA"


@given(dpd=days_past_due)
def test_the_class_follows_the_days_past_due(dpd: int) -> None:
    assert class_of(dpd) == expected_class(dpd)
    assert classify(dpd, None) == expected_class(dpd)


@given(dpd=days_past_due, previous=classes)
def test_an_npa_never_turns_sma_without_the_arrears_cleared(dpd: int, previous: str) -> None:
    now = classify(dpd, previous)
    if previous == NPA:
        assert now == (STANDARD if dpd == 0 else NPA)
    else:
        assert now == expected_class(dpd)


@given(loans=st.lists(classes, min_size=1, max_size=8))
def test_npa_is_borrower_wise(loans: list) -> None:
    after = borrower_wise(loans)
    assert len(after) == len(loans)
    if NPA in loans:
        assert after == [NPA] * len(loans)
        assert worst(after) == NPA
    else:
        assert after == loans
    assert worst([]) == STANDARD


@st.composite
def histories(draw: st.DrawFn) -> tuple:
    """A booked loan, and payments of what is due on dates drawn after its start, in order."""
    tenure = draw(st.integers(min_value=2, max_value=36))
    rate = draw(st.decimals(min_value="0", max_value="30", places=2))
    amount = draw(st.decimals(min_value="1000", max_value="1000000", places=2))
    start = draw(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)))
    terms = LoanTerms(amount, rate, tenure, start)
    emi = monthly_installment(amount, rate, tenure)
    # Up to every installment: some loans are paid off by the last payment.
    gaps = draw(st.lists(st.integers(min_value=0, max_value=70), max_size=tenure))
    state, paid, day = booked_state(terms, emi), [], start
    for gap in gaps:
        day = day + timedelta(days=gap)
        allocation, after = apply_payment(state, state.amount_due, day, date.max)
        paid.append((allocation, state))
        state = after
    on = draw(st.dates(min_value=start, max_value=start + timedelta(days=1500)))
    return terms, state, paid, on


@PROPERTY_SETTINGS
@given(history=histories())
def test_days_past_due_on_a_date_follow_the_contract(history: tuple) -> None:
    terms, state, paid, on = history
    later = [
        LaterPayment(a.paid_on, a.installment, before.outstanding_principal) for a, before in paid
    ]
    at_end = state_on(state, later, on)
    settled = sum(1 for a, _ in paid if a.paid_on <= on)
    assert at_end.installments_settled == settled
    # The oldest installment not settled by the end of `on`, past due only after its date.
    oldest = add_months(terms.start_date, settled + 1)
    expected = (on - oldest).days if settled < terms.tenure and oldest < on else 0
    assert days_past_due_on(at_end, on) == expected
    figures = close_customer([(state, later, None)], on)[0]
    if at_end.closed:
        assert figures is None
    else:
        assert figures is not None
        assert figures.days_past_due == expected
        assert figures.classification == expected_class(expected)
        assert figures.outstanding == at_end.outstanding_principal


def test_a_loan_is_not_classified_before_it_is_lent() -> None:
    terms = LoanTerms(Decimal("100000.00"), Decimal("12"), 12, date(2026, 1, 15))
    state = booked_state(terms, Decimal("8884.88"))
    assert close_customer([(state, [], None)], date(2026, 1, 14)) == [None]
    assert close_customer([(state, [], None)], date(2026, 2, 15))[0].days_past_due == 0
    assert close_customer([(state, [], None)], date(2026, 2, 16))[0].classification == "SMA-0"


class Flat(NamedTuple):
    start_date: date
    installments_settled: int
    outstanding_principal: Decimal


@PROPERTY_SETTINGS
@given(
    loans=st.lists(st.tuples(histories(), st.none() | classes), min_size=1, max_size=4),
    on=st.dates(min_value=date(2019, 12, 1), max_value=date(2035, 12, 31)),
)
def test_the_flat_rule_gives_the_definitions_figures(loans: list, on: date) -> None:
    entries, flat, later_of, previous = [], [], [], []
    for (terms, state, paid, _), before in loans:
        later = [LaterPayment(a.paid_on, a.installment, b.outstanding_principal) for a, b in paid]
        entries.append((state, later, before))
        flat.append(Flat(terms.start_date, state.installments_settled, state.outstanding_principal))
        later_of.append(later)
        previous.append(before)
    assert close_customer_flat(flat, later_of, previous, on) == close_customer(entries, on)
