"""Properties of the money and policy functions, checked by hypothesis over wide input ranges.

Each property is a promise a borrower or the lender relies on: the installments repay the
principal, the schedule ends at exactly zero, the score stays in 0-100, and the decisions are
monotonic (a better score or a higher income can never make the answer worse).
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from credit.lending.amortization import PAISA, monthly_installment, schedule
from credit.lending.policy import (
    Borrower,
    CreditPolicy,
    LoanRequest,
    approved_limit,
    decide,
    slab_for,
)
from credit.lending.scoring import CreditHistory, credit_score

POLICY = CreditPolicy()
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# The ranges the API accepts (see the request schemas).
amounts = st.decimals(min_value="0.01", max_value="10000000000", places=2)
positive_rates = st.decimals(min_value="0.0001", max_value="100", places=4)
rates = st.decimals(min_value="0", max_value="100", places=4)
tenures = st.integers(min_value=1, max_value=600)
incomes = st.integers(min_value=1, max_value=1_000_000_000).map(Decimal)
scores = st.integers(min_value=0, max_value=100)
starts = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31))


@PROPERTY_SETTINGS
@given(principal=amounts, rate=positive_rates, tenure=tenures)
def test_installments_repay_at_least_the_principal(
    principal: Decimal, rate: Decimal, tenure: int
) -> None:
    emi = monthly_installment(principal, rate, tenure)
    # The EMI is rounded half up to paise, so it may sit up to half a paisa under the exact
    # value; the exact EMI is strictly above principal / tenure for any positive rate.
    assert emi * tenure >= principal - tenure * PAISA / 2
    # What the borrower actually pays (the schedule's last installment absorbs the rounding)
    # is never less than the principal.
    payments = sum(row.emi for row in schedule(principal, rate, tenure, date(2025, 1, 1)))
    assert payments >= principal


@PROPERTY_SETTINGS
@given(principal=amounts, rate=rates, tenure=st.integers(min_value=1, max_value=360), start=starts)
def test_schedule_repays_exactly_the_amount(
    principal: Decimal, rate: Decimal, tenure: int, start: date
) -> None:
    rows = schedule(principal, rate, tenure, start)
    assert len(rows) == tenure
    assert sum((row.principal for row in rows), Decimal(0)) == principal
    assert rows[-1].balance == 0
    assert all(row.balance >= 0 for row in rows)
    assert all(row.interest >= 0 for row in rows)
    assert all(row.emi == row.interest + row.principal for row in rows)
    assert [row.number for row in rows] == list(range(1, tenure + 1))
    assert all(a.due_date < b.due_date for a, b in itertools.pairwise(rows))


histories = st.builds(
    CreditHistory,
    approved_limit=st.decimals(min_value="0", max_value="100000000000", places=2),
    loans_taken=st.integers(min_value=0, max_value=10_000),
    emis_due=st.integers(min_value=0, max_value=100_000),
    emis_paid_on_time=st.integers(min_value=0, max_value=100_000),
    loans_this_year=st.integers(min_value=0, max_value=10_000),
    approved_volume=st.decimals(min_value="0", max_value="100000000000", places=2),
    current_loans_amount=st.decimals(min_value="0", max_value="100000000000", places=2),
)


@PROPERTY_SETTINGS
@given(history=histories)
def test_score_is_within_0_and_100(history: CreditHistory) -> None:
    result = credit_score(history, POLICY)
    assert 0 <= result.score <= 100
    assert all(0 <= c.points <= c.max_points for c in result.components)
    if history.current_loans_amount > history.approved_limit:
        assert result.score == 0


def _rank(score: int) -> tuple[bool, Decimal]:
    """Orders slabs from worst to best: not approvable, then higher minimum rates first."""
    slab = slab_for(score, POLICY)
    return slab.approvable, -slab.min_rate if slab.approvable else Decimal("-1000")


@settings(max_examples=500, deadline=None)
@given(low=scores, high=scores)
def test_a_higher_score_never_gets_a_worse_slab(low: int, high: int) -> None:
    assume(low <= high)
    assert _rank(high) >= _rank(low)


@PROPERTY_SETTINGS
@given(
    score=scores,
    low_income=incomes,
    extra_income=incomes,
    current_amount=st.decimals(min_value="0", max_value="1000000000", places=2),
    current_emis=st.decimals(min_value="0", max_value="100000000", places=2),
    amount=amounts,
    rate=rates,
    tenure=tenures,
)
def test_a_higher_income_never_turns_an_approval_into_a_rejection(
    score: int,
    low_income: Decimal,
    extra_income: Decimal,
    current_amount: Decimal,
    current_emis: Decimal,
    amount: Decimal,
    rate: Decimal,
    tenure: int,
) -> None:
    request = LoanRequest(amount, rate, tenure)

    def decision(income: Decimal) -> bool:
        borrower = Borrower(income, approved_limit(income, POLICY), current_amount, current_emis)
        return decide(score, borrower, request, POLICY).approval

    if decision(low_income):
        assert decision(low_income + extra_income)


@PROPERTY_SETTINGS
@given(
    history=histories,
    low_income=incomes,
    extra_income=incomes,
    amount=amounts,
    rate=rates,
    tenure=tenures,
)
def test_end_to_end_a_higher_income_never_lowers_score_or_approval(
    history: CreditHistory,
    low_income: Decimal,
    extra_income: Decimal,
    amount: Decimal,
    rate: Decimal,
    tenure: int,
) -> None:
    """Income also raises the approved limit, which feeds the score (volume, over-limit)."""
    request = LoanRequest(amount, rate, tenure)

    def assess(income: Decimal) -> tuple[int, bool]:
        limit = approved_limit(income, POLICY)
        score = credit_score(replace(history, approved_limit=limit), POLICY).score
        borrower = Borrower(income, limit, history.current_loans_amount, Decimal(0))
        return score, decide(score, borrower, request, POLICY).approval

    low_score, low_approved = assess(low_income)
    high_score, high_approved = assess(low_income + extra_income)
    assert high_score >= low_score
    assert high_approved or not low_approved


@PROPERTY_SETTINGS
@given(low=incomes, extra=incomes)
def test_approved_limit_is_monotonic_and_in_whole_lakhs(low: Decimal, extra: Decimal) -> None:
    a, b = approved_limit(low, POLICY), approved_limit(low + extra, POLICY)
    assert a <= b
    assert a % POLICY.limit_rounding == 0
    assert abs(a - low * POLICY.limit_multiple) <= POLICY.limit_rounding / 2
