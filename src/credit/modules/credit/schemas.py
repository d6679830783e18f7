"""Responses of the eligibility, credit-score and decision endpoints."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec

from credit.lending.reasons import Reason

if TYPE_CHECKING:
    from credit.lending.policy import LoanRequest, Slab
    from credit.lending.scoring import Component, CreditScore
    from credit.lending.underwriting import Assessment
    from credit.modules.loans.api import DecisionPage, LoanApplication, StoredDecision

# Money and rates in answers: exact, written as JSON numbers (`credit.plugins.money`).
Rupees = Annotated[Decimal, msgspec.Meta(description="Rupees, to the paisa.")]
YearlyRate = Annotated[Decimal, msgspec.Meta(description="Yearly %.")]
REASONS = "Every rule that stops approval, in policy order, with its figures; [] when approved."


class Eligibility(msgspec.Struct):
    customer_id: int
    approval: bool
    interest_rate: YearlyRate
    corrected_interest_rate: Annotated[
        Decimal, msgspec.Meta(description="The requested rate, or the slab's minimum if higher.")
    ]
    tenure: int
    monthly_installment: Annotated[
        Rupees, msgspec.Meta(description="The EMI at `corrected_interest_rate`.")
    ]
    credit_score: int
    message: Annotated[
        str, msgspec.Meta(description="The first reason's message, or the approval's.")
    ]
    reasons: Annotated[list[Reason], msgspec.Meta(description=REASONS)]

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
        "reasons": [
            {
                "code": "emi_over_income_share",
                "message": "Monthly installments would come to 40817.74 (current 23188.02 + "
                "this loan 17629.72), above the 37500.00 allowed (50% of monthly income).",
            }
        ],
    }

    @classmethod
    def of(
        cls, application: LoanApplication, request: LoanRequest, assessment: Assessment
    ) -> Eligibility:
        decision = assessment.decision
        return cls(
            customer_id=application.customer_id,
            approval=decision.approval,
            interest_rate=request.interest_rate,
            corrected_interest_rate=decision.corrected_interest_rate,
            tenure=application.tenure,
            monthly_installment=decision.monthly_installment,
            credit_score=assessment.score.score,
            message=decision.message,
            reasons=list(decision.reasons),
        )


class ScoreComponent(msgspec.Struct):
    name: str
    value: Decimal
    points: Decimal
    max_points: int

    @classmethod
    def of(cls, component: Component) -> ScoreComponent:
        c = component
        return cls(c.name, c.value, c.points, c.max_points)


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


class DecisionRequest(msgspec.Struct):
    loan_amount: Rupees
    interest_rate: YearlyRate
    tenure: int


class DecisionReport(msgspec.Struct):
    """An application's record: what was asked, what the policy read and decided, the
    policy's numbers in force and the key that applied."""

    decision_id: int
    customer_id: int
    decided_at: Annotated[datetime, msgspec.Meta(description="When, with its UTC offset.")]
    as_of: Annotated[date, msgspec.Meta(description="The lender's date it was decided for.")]
    request: DecisionRequest
    approval: bool
    loan_id: Annotated[int | None, msgspec.Meta(description="The loan booked; null if refused.")]
    corrected_interest_rate: YearlyRate
    monthly_installment: Annotated[
        Rupees, msgspec.Meta(description="The EMI at the requested rate.")
    ]
    credit_score: int
    components: list[ScoreComponent]
    reasons: Annotated[list[Reason], msgspec.Meta(description=REASONS)]
    policy: Annotated[
        dict[str, Decimal],
        msgspec.Meta(description="Every number of the credit policy in force, by name."),
    ]
    api_key_id: Annotated[
        int | None, msgspec.Meta(description="The API key that applied; null when open.")
    ]

    example: ClassVar[dict[str, Any]] = {
        "decision_id": 812,
        "customer_id": 301,
        "decided_at": "2025-06-15T10:42:07.118204+00:00",
        "as_of": "2025-06-15",
        "request": {"loan_amount": 900000.00, "interest_rate": 10.5, "tenure": 12},
        "approval": False,
        "loan_id": None,
        "corrected_interest_rate": 10.5,
        "monthly_installment": 79333.74,
        "credit_score": 91,
        "components": CreditScoreReport.example["components"],
        "reasons": [
            {
                "code": "emi_over_income_share",
                "message": "Monthly installments would come to 102521.76 (current 23188.02 + "
                "this loan 79333.74), above the 37500.00 allowed (50% of monthly income).",
            }
        ],
        "policy": {
            "limit_multiple": 36,
            "limit_rounding": 100000,
            "approve_above": 50,
            "min_rate_12_above": 30,
            "min_rate_16_above": 10,
            "mid_slab_min_rate": 12,
            "low_slab_min_rate": 16,
            "max_emi_share_of_income": 0.5,
            "weight_paid_on_time": 40,
            "weight_loans_taken": 20,
            "weight_current_year_activity": 20,
            "weight_approved_volume": 20,
            "loans_taken_free": 5,
            "loans_taken_zero_at": 15,
            "current_year_zero_at": 4,
            "volume_free_multiple": 1,
            "volume_zero_multiple": 3,
            "no_history_on_time_share": 0.5,
        },
        "api_key_id": None,
    }

    @classmethod
    def of(cls, stored: StoredDecision) -> DecisionReport:
        return cls(
            decision_id=stored.decision_id,
            customer_id=stored.customer_id,
            decided_at=stored.decided_at,
            as_of=stored.as_of,
            request=DecisionRequest(
                loan_amount=stored.request.amount,
                interest_rate=stored.request.interest_rate,
                tenure=stored.request.tenure,
            ),
            approval=stored.approval,
            loan_id=stored.loan_id,
            corrected_interest_rate=stored.corrected_interest_rate,
            monthly_installment=stored.monthly_installment,
            credit_score=stored.credit_score,
            components=[ScoreComponent.of(c) for c in stored.components],
            reasons=list(stored.reasons),
            policy=stored.policy,
            api_key_id=stored.api_key_id,
        )


class DecisionList(msgspec.Struct):
    items: list[DecisionReport]
    next: Annotated[
        int | None,
        msgspec.Meta(description="Pass as `before` for the next (older) page; null at the end."),
    ]

    example: ClassVar[dict[str, Any]] = {"items": [DecisionReport.example], "next": None}

    @classmethod
    def of(cls, page: DecisionPage) -> DecisionList:
        return cls([DecisionReport.of(item) for item in page.items], page.next)
