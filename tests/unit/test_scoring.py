"""The credit-score model: components, weights and the over-limit rule."""

from __future__ import annotations

from decimal import Decimal

from msgspec.structs import replace

from credit.lending.policy import CreditPolicy
from credit.lending.scoring import CreditHistory, credit_score

D = Decimal
POLICY = CreditPolicy()
NO_HISTORY = CreditHistory(
    approved_limit=D(1_000_000),
    loans_taken=0,
    emis_due=0,
    emis_paid_on_time=0,
    loans_this_year=0,
    approved_volume=D(0),
    current_loans_amount=D(0),
)


def points(history: CreditHistory) -> dict[str, Decimal]:
    return {c.name: c.points for c in credit_score(history, POLICY).components}


def test_no_history_is_not_punished() -> None:
    score = credit_score(NO_HISTORY, POLICY)
    assert score.score == 80
    assert score.score > POLICY.approve_above
    assert [c.name for c in score.components] == [
        "paid_on_time",
        "loans_taken",
        "current_year_activity",
        "approved_volume",
    ]


def test_a_perfect_record_scores_100() -> None:
    history = replace(
        NO_HISTORY, loans_taken=3, emis_due=60, emis_paid_on_time=60, approved_volume=D(900_000)
    )
    assert credit_score(history, POLICY).score == 100


def test_paid_on_time_share_earns_its_weight() -> None:
    history = replace(NO_HISTORY, loans_taken=1, emis_due=40, emis_paid_on_time=30)
    assert points(history)["paid_on_time"] == D("30.00")  # 75 % of 40 points


def test_loans_taken_falls_after_five_to_zero_at_fifteen() -> None:
    assert points(replace(NO_HISTORY, loans_taken=5))["loans_taken"] == D("20.00")
    assert points(replace(NO_HISTORY, loans_taken=10))["loans_taken"] == D("10.00")
    assert points(replace(NO_HISTORY, loans_taken=15))["loans_taken"] == D("0.00")
    assert points(replace(NO_HISTORY, loans_taken=40))["loans_taken"] == D("0.00")


def test_current_year_activity_falls_with_each_new_loan() -> None:
    assert points(replace(NO_HISTORY, loans_this_year=1))["current_year_activity"] == D("15.00")
    assert points(replace(NO_HISTORY, loans_this_year=4))["current_year_activity"] == D("0.00")


def test_approved_volume_is_measured_against_the_limit() -> None:
    two_limits = replace(NO_HISTORY, approved_volume=D(2_000_000))
    assert points(two_limits)["approved_volume"] == D("10.00")
    component = credit_score(two_limits, POLICY).components[3]
    assert component.value == D(2)


def test_current_loans_above_the_limit_score_zero() -> None:
    history = replace(NO_HISTORY, current_loans_amount=D("1000000.01"))
    score = credit_score(history, POLICY)
    assert score.score == 0
    assert score.over_limit
    at_limit = replace(NO_HISTORY, current_loans_amount=D(1_000_000))
    assert credit_score(at_limit, POLICY).score > 0


def test_worst_history_scores_zero_and_rounding_is_half_up() -> None:
    worst = replace(
        NO_HISTORY,
        loans_taken=20,
        emis_due=100,
        emis_paid_on_time=0,
        loans_this_year=5,
        approved_volume=D(5_000_000),
    )
    assert credit_score(worst, POLICY).score == 0
    # 40 x 0.5 + 20 + 20 + 20 x (3 - 1.25) / 2 = 77.5 -> 78
    half = replace(NO_HISTORY, approved_volume=D(1_250_000))
    assert credit_score(half, POLICY).score == 78
