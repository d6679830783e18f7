"""Reasons: every failing rule, in policy order, each with its code and the figures that broke
it; and the assessment of a stored application gives its outcome again."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from credit.lending.policy import Borrower, CreditPolicy, LoanRequest, decide
from credit.lending.reasons import ReasonCode
from credit.lending.scoring import CreditHistory
from credit.lending.underwriting import (
    ApplicationInputs,
    assess,
    policy_from_numbers,
    policy_numbers,
)

D = Decimal
POLICY = CreditPolicy()
RICH = Borrower(
    monthly_income=D(100_000),
    approved_limit=D(3_600_000),
    current_loans_amount=D(0),
    current_emis=D(0),
)
SMALL = LoanRequest(D(100_000), D(12), 12)  # EMI 8,884.88


def codes(decision: object) -> list[str]:
    return [reason.code for reason in decision.reasons]  # type: ignore[attr-defined]


def test_an_approval_has_no_reasons() -> None:
    decision = decide(80, RICH, SMALL, POLICY)
    assert decision.approval
    assert decision.reasons == ()
    assert decision.message == "Approved."


def test_over_approved_limit_is_its_own_reason_not_a_score_of_zero() -> None:
    over = msgspec.structs.replace(RICH, current_loans_amount=D(3_700_000))
    decision = decide(0, over, SMALL, POLICY, earned=80)
    assert codes(decision) == ["over_approved_limit", "over_limit_with_new_loan"]
    first = decision.reasons[0]
    assert decision.message == first.message
    assert "3700000" in first.message
    assert "3600000" in first.message
    assert "score is 0 for that reason" in first.message
    assert "or below" not in decision.message


def test_over_the_limit_with_a_poor_history_is_also_a_low_score() -> None:
    over = msgspec.structs.replace(RICH, current_loans_amount=D(3_700_000))
    decision = decide(0, over, SMALL, POLICY, earned=7)
    assert codes(decision)[:2] == ["over_approved_limit", "score_too_low"]
    assert "Credit score 7 is 10 or below" in decision.reasons[1].message


def test_score_too_low_names_the_score() -> None:
    decision = decide(10, RICH, SMALL, POLICY)
    assert codes(decision) == ["score_too_low"]
    assert decision.message == "Credit score 10 is 10 or below; no loan can be approved."


def test_rate_below_slab_only_when_the_rate_must_match() -> None:
    cheap = LoanRequest(D(100_000), D(8), 12)
    offered = decide(20, RICH, cheap, POLICY)
    assert offered.approval
    assert offered.corrected_interest_rate == D(16)
    refused = decide(20, RICH, cheap, POLICY, rate_must_match=True)
    assert codes(refused) == ["rate_below_slab"]
    assert "16%" in refused.message
    assert "Apply again at 16% or more" in refused.message


def test_emi_over_income_share_names_the_total_and_the_cap() -> None:
    poor = msgspec.structs.replace(RICH, monthly_income=D(10_000), current_emis=D(2_000))
    decision = decide(80, poor, SMALL, POLICY)
    assert codes(decision) == ["emi_over_income_share"]
    assert "10884.88" in decision.message  # 2,000 + 8,884.88
    assert "5000.00" in decision.message  # half of 10,000


def test_over_limit_with_new_loan_names_the_sum_and_the_limit() -> None:
    near = msgspec.structs.replace(RICH, current_loans_amount=D(3_550_000))
    decision = decide(80, near, SMALL, POLICY)
    assert codes(decision) == ["over_limit_with_new_loan"]
    assert "3650000" in decision.message
    assert "3600000" in decision.message


def test_every_failing_rule_is_listed_in_policy_order() -> None:
    broke = Borrower(
        monthly_income=D(10_000),
        approved_limit=D(400_000),
        current_loans_amount=D(500_000),
        current_emis=D(9_000),
    )
    decision = decide(0, broke, LoanRequest(D(100_000), D(8), 12), POLICY, earned=5)
    assert codes(decision) == [
        "over_approved_limit",
        "score_too_low",
        "emi_over_income_share",
        "over_limit_with_new_loan",
    ]
    mid = msgspec.structs.replace(broke, current_loans_amount=D(350_000))
    decision = decide(
        20, mid, LoanRequest(D(100_000), D(8), 12), POLICY, earned=20, rate_must_match=True
    )
    assert codes(decision) == [
        "rate_below_slab",
        "emi_over_income_share",
        "over_limit_with_new_loan",
    ]


def test_the_codes_are_the_contracts_in_policy_order() -> None:
    assert [code.value for code in ReasonCode] == [
        "over_approved_limit",
        "score_too_low",
        "rate_below_slab",
        "emi_over_income_share",
        "over_limit_with_new_loan",
        "npa",
    ]


@pytest.mark.parametrize("policy", [POLICY, CreditPolicy(max_emi_share_of_income=D("0.35"))])
def test_the_policys_numbers_give_the_policy_back(policy: CreditPolicy) -> None:
    stored = msgspec.json.decode(msgspec.json.encode(policy_numbers(policy)))
    assert policy_from_numbers(stored) == policy


HISTORIES = st.builds(
    CreditHistory,
    approved_limit=st.integers(0, 50).map(lambda lakhs: D(lakhs * 100_000)),
    loans_taken=st.integers(0, 20),
    emis_due=st.integers(0, 300),
    emis_paid_on_time=st.integers(0, 300),
    loans_this_year=st.integers(0, 6),
    approved_volume=st.integers(0, 10_000_000).map(D),
    current_loans_amount=st.integers(0, 6_000_000).map(D),
)


@given(
    history=HISTORIES,
    income=st.integers(1, 500_000).map(D),
    emis=st.integers(0, 200_000).map(D),
    amount=st.integers(1_000, 3_000_000).map(D),
    rate=st.sampled_from([D(0), D(8), D(12), D("14.5"), D(16), D(20)]),
    tenure=st.integers(1, 360),
    must_match=st.booleans(),
)
def test_an_assessment_stored_as_json_is_assessed_the_same(
    history: CreditHistory,
    income: Decimal,
    emis: Decimal,
    amount: Decimal,
    rate: Decimal,
    tenure: int,
    must_match: bool,
) -> None:
    inputs = ApplicationInputs(history, income, emis)
    request = LoanRequest(amount, rate, tenure)
    first = assess(inputs, request, POLICY, rate_must_match=must_match)
    stored = msgspec.json.decode(msgspec.json.encode(msgspec.to_builtins(inputs)))
    again = assess(
        msgspec.convert(stored, ApplicationInputs, strict=False),
        request,
        policy_from_numbers(msgspec.to_builtins(policy_numbers(POLICY))),
        rate_must_match=must_match,
    )
    assert again == first
    assert first.decision.approval is (first.decision.reasons == ())
