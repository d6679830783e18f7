"""Responses of the eligibility and credit-score endpoints."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

if TYPE_CHECKING:
    from credit.lending.policy import Slab
    from credit.lending.scoring import Component, CreditScore
    from credit.lending.underwriting import Assessment
    from credit.modules.loans.api import LoanApplication


class Eligibility(msgspec.Struct):
    customer_id: int
    approval: bool
    interest_rate: float
    corrected_interest_rate: float
    tenure: int
    monthly_installment: float
    credit_score: int
    message: str

    example: ClassVar[dict[str, Any]] = {
        "customer_id": 301,
        "approval": False,
        "interest_rate": 10.5,
        "corrected_interest_rate": 10.5,
        "tenure": 12,
        "monthly_installment": 17629.72,
        "credit_score": 75,
        "message": "Monthly installments would come to 40817.74 (current 23188.02 + this loan "
        "17629.72), above the 37500.00 allowed (50% of monthly income).",
    }

    @classmethod
    def of(cls, application: LoanApplication, assessment: Assessment) -> Eligibility:
        decision = assessment.decision
        return cls(
            customer_id=application.customer_id,
            approval=decision.approval,
            interest_rate=application.interest_rate,
            corrected_interest_rate=float(decision.corrected_interest_rate),
            tenure=application.tenure,
            monthly_installment=float(decision.monthly_installment),
            credit_score=assessment.score.score,
            message=decision.message,
        )


class ScoreComponent(msgspec.Struct):
    name: str
    value: float
    points: float
    max_points: int

    @classmethod
    def of(cls, component: Component) -> ScoreComponent:
        c = component
        return cls(c.name, float(c.value), float(c.points), c.max_points)


class CreditScoreReport(msgspec.Struct):
    customer_id: int
    credit_score: int
    components: list[ScoreComponent]
    slab: str
    as_of: date
    over_limit: bool

    # The README's worked example.
    example: ClassVar[dict[str, Any]] = {
        "customer_id": 301,
        "credit_score": 91,
        "components": [
            {"name": "paid_on_time", "value": 0.9091, "points": 36.36, "max_points": 40},
            {"name": "loans_taken", "value": 2.0, "points": 20.0, "max_points": 20},
            {"name": "current_year_activity", "value": 1.0, "points": 15.0, "max_points": 20},
            {"name": "approved_volume", "value": 0.0472, "points": 20.0, "max_points": 20},
        ],
        "slab": "above 50",
        "as_of": "2025-06-15",
        "over_limit": False,
    }

    @classmethod
    def of(cls, customer_id: int, score: CreditScore, slab: Slab, as_of: date) -> CreditScoreReport:
        return cls(
            customer_id=customer_id,
            credit_score=score.score,
            components=[ScoreComponent.of(c) for c in score.components],
            slab=slab.name,
            as_of=as_of,
            over_limit=score.over_limit,
        )
