"""The credit score: 0-100 from four components of the customer's loan history.

Each component measures one thing and earns up to its weight in points (weights are policy
settings and sum to 100). The score is the sum, rounded half up. docs/credit-score.md explains
the choices with a worked example; `GET /api/customers/{id}/credit-score` shows every part.

1. paid_on_time: share of the installments due so far that were paid on time. A customer
   with no installments due yet earns `no_history_on_time_share` of the weight (neutral).
2. loans_taken: number of loans ever taken. Up to `loans_taken_free` costs nothing, then
   points fall linearly to 0 at `loans_taken_zero_at` (many loans = credit hungry).
3. current_year_activity: loans approved this calendar year. Points fall linearly from the
   full weight at 0 to 0 at `current_year_zero_at` (a burst of new borrowing is a risk sign).
4. approved_volume: everything ever lent to the customer as a multiple of their approved
   limit. Up to `volume_free_multiple` costs nothing, then falls to 0 at `volume_zero_multiple`.

Rule 2 of the policy overrides all of this: if the current loans add up to more than the
approved limit, the score is 0.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import msgspec

from credit.lending.policy import CreditPolicy

POINTS = Decimal("0.01")
MEASURE = Decimal("0.0001")  # shown values: a share or multiple to four places
ZERO = Decimal(0)
ONE = Decimal(1)


class CreditHistory(msgspec.Struct, frozen=True):
    """Everything the score needs, as one aggregate query returns it."""

    approved_limit: Decimal
    loans_taken: int
    emis_due: int
    emis_paid_on_time: int
    loans_this_year: int
    approved_volume: Decimal
    current_loans_amount: Decimal


class Component(msgspec.Struct, frozen=True):
    name: str
    value: Decimal
    points: Decimal
    max_points: int


class CreditScore(msgspec.Struct, frozen=True):
    """The score (0 when rule 2 applies), its components, and `earned`: what the history
    earned before rule 2 (the same as `score` when the customer is within the limit)."""

    score: int
    components: tuple[Component, ...]
    over_limit: bool
    earned: int = 0


def _falling(value: Decimal, free_up_to: Decimal, zero_at: Decimal) -> Decimal:
    """1 up to `free_up_to`, then linear down to 0 at `zero_at`."""
    if value <= free_up_to:
        return ONE
    if value >= zero_at:
        return ZERO
    return (zero_at - value) / (zero_at - free_up_to)


def _points(share: Decimal, weight: int) -> Decimal:
    return (share * weight).quantize(POINTS, rounding=ROUND_HALF_UP)


def credit_score(history: CreditHistory, policy: CreditPolicy) -> CreditScore:
    if history.emis_due > 0:
        on_time = min(Decimal(history.emis_paid_on_time) / history.emis_due, ONE)
        on_time_share = on_time
    else:
        on_time = ZERO
        on_time_share = policy.no_history_on_time_share
    if history.approved_limit > 0:
        volume_multiple = history.approved_volume / history.approved_limit
    else:
        # A zero limit (income under ~1,400 a month) with any lending is the worst multiple, not
        # the best: otherwise a higher income (a limit above 0) could lower the score.
        volume_multiple = policy.volume_zero_multiple if history.approved_volume > 0 else ZERO
    components = (
        Component(
            "paid_on_time",
            on_time.quantize(MEASURE, rounding=ROUND_HALF_UP),
            _points(on_time_share, policy.weight_paid_on_time),
            policy.weight_paid_on_time,
        ),
        Component(
            "loans_taken",
            Decimal(history.loans_taken),
            _points(
                _falling(
                    Decimal(history.loans_taken),
                    Decimal(policy.loans_taken_free),
                    Decimal(policy.loans_taken_zero_at),
                ),
                policy.weight_loans_taken,
            ),
            policy.weight_loans_taken,
        ),
        Component(
            "current_year_activity",
            Decimal(history.loans_this_year),
            _points(
                _falling(
                    Decimal(history.loans_this_year),
                    ZERO,
                    Decimal(policy.current_year_zero_at),
                ),
                policy.weight_current_year_activity,
            ),
            policy.weight_current_year_activity,
        ),
        Component(
            "approved_volume",
            volume_multiple.quantize(MEASURE, rounding=ROUND_HALF_UP),
            _points(
                _falling(volume_multiple, policy.volume_free_multiple, policy.volume_zero_multiple),
                policy.weight_approved_volume,
            ),
            policy.weight_approved_volume,
        ),
    )
    over_limit = history.current_loans_amount > history.approved_limit
    total = sum((c.points for c in components), ZERO)
    earned = max(0, min(100, int(total.quantize(ONE, rounding=ROUND_HALF_UP))))
    return CreditScore(0 if over_limit else earned, components, over_limit, earned)
