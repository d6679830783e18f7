"""Approved limit, slabs and the approval rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from credit.lending.policy import (
    Borrower,
    CreditPolicy,
    LoanRequest,
    approved_limit,
    decide,
    slab_for,
)

D = Decimal
POLICY = CreditPolicy()


@pytest.mark.parametrize(
    ("income", "limit"),
    [
        (12_500, 500_000),  # 450,000 is exactly half a lakh over 4 lakh: ties go up
        (12_499, 400_000),  # 449,964 rounds down
        (50_000, 1_800_000),
        (1, 0),
    ],
)
def test_approved_limit_rounds_to_nearest_lakh_ties_up(income: int, limit: int) -> None:
    assert approved_limit(D(income), POLICY) == D(limit)


def test_approved_limit_half_lakh_boundary() -> None:
    assert approved_limit(D(1_389), POLICY) == D(100_000)  # 50,004 -> 1 lakh
    assert approved_limit(D(1_388), POLICY) == D(0)  # 49,968 -> 0


@pytest.mark.parametrize(
    ("score", "approvable", "min_rate"),
    [
        (100, True, D(0)),
        (51, True, D(0)),
        (50, True, D(12)),
        (31, True, D(12)),
        (30, True, D(16)),
        (11, True, D(16)),
        (10, False, D(0)),
        (0, False, D(0)),
    ],
)
def test_slab_boundaries(score: int, approvable: bool, min_rate: Decimal) -> None:
    slab = slab_for(score, POLICY)
    assert (slab.approvable, slab.min_rate) == (approvable, min_rate)


RICH = Borrower(
    monthly_income=D(100_000),
    approved_limit=D(3_600_000),
    current_loans_amount=D(0),
    current_emis=D(0),
)


def test_rate_is_corrected_up_to_the_slab_minimum() -> None:
    decision = decide(20, RICH, LoanRequest(D(100_000), D(8), 12), POLICY)
    assert decision.approval
    assert decision.corrected_interest_rate == D(16)
    assert decision.monthly_installment == D("9073.09")  # the EMI at 16 %, not at 8 %


def test_rate_above_the_slab_minimum_is_kept() -> None:
    decision = decide(40, RICH, LoanRequest(D(100_000), D(14), 12), POLICY)
    assert decision.approval
    assert decision.corrected_interest_rate == D(14)


def test_score_ten_or_below_is_never_approved() -> None:
    decision = decide(10, RICH, LoanRequest(D(1000), D(20), 12), POLICY)
    assert not decision.approval
    assert "10 or below" in decision.message


def test_affordability_counts_the_new_emi() -> None:
    # Income 20,000: at most 10,000 of EMIs. Current 5,000 + new 8,884.88 > 10,000.
    borrower = Borrower(D(20_000), D(720_000), D(100_000), D(5_000))
    decision = decide(80, borrower, LoanRequest(D(100_000), D(12), 12), POLICY)
    assert not decision.approval
    assert "50%" in decision.message
    # Without current EMIs the same loan fits.
    fits = Borrower(D(20_000), D(720_000), D(0), D(0))
    assert decide(80, fits, LoanRequest(D(100_000), D(12), 12), POLICY).approval


def test_affordability_uses_the_corrected_rate() -> None:
    # EMI at 8 % is 8,698.84 (fits under 8,800); at the 16 % slab minimum, 9,073.09 (does not).
    borrower = Borrower(D(17_600), D(1_000_000), D(0), D(0))
    assert decide(80, borrower, LoanRequest(D(100_000), D(8), 12), POLICY).approval
    assert not decide(20, borrower, LoanRequest(D(100_000), D(8), 12), POLICY).approval


def test_limit_counts_the_requested_amount() -> None:
    borrower = Borrower(D(1_000_000), D(500_000), D(400_000), D(0))
    assert decide(80, borrower, LoanRequest(D(100_000), D(10), 12), POLICY).approval
    rejected = decide(80, borrower, LoanRequest(D("100000.01"), D(10), 12), POLICY)
    assert not rejected.approval
    assert "approved limit" in rejected.message


def test_policy_numbers_come_from_the_environment() -> None:
    policy = CreditPolicy.from_env(
        {"CREDIT_LIMIT_MULTIPLE": "24", "CREDIT_MAX_EMI_SHARE_OF_INCOME": "0.4", "OTHER": "x"}
    )
    assert policy.limit_multiple == 24
    assert policy.max_emi_share_of_income == D("0.4")
    assert policy.approve_above == 50
