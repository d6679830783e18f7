"""Responses of the eligibility, credit-score and customer-profile endpoints."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import msgspec

from credit.lending.policy import LoanRequest
from credit.lending.reasons import Reason
from credit.lending.scoring import Component

if TYPE_CHECKING:
    from credit.modules.loans.api import Assessment, CustomerLoans, DecisionPage, StoredDecision

ZERO = Decimal("0.00")


Rupees = Annotated[Decimal, msgspec.Meta(description="Rupees, to the paisa.")]
YearlyRate = Annotated[Decimal, msgspec.Meta(description="Yearly %.")]


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
    reasons: Annotated[
        list[Reason],
        msgspec.Meta(
            description="Every rule that stops approval, in policy order; [] when approved."
        ),
    ]

    @classmethod
    def of(cls, customer_id: int, request: LoanRequest, assessment: Assessment) -> Eligibility:
        decision = assessment.decision
        return cls(
            customer_id=customer_id,
            approval=decision.approval,
            interest_rate=request.interest_rate,
            corrected_interest_rate=decision.corrected_interest_rate,
            tenure=request.tenure,
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
        return cls(component.name, component.value, component.points, component.max_points)


class CreditScoreReport(msgspec.Struct):
    customer_id: int
    credit_score: int
    components: list[ScoreComponent]
    slab: str
    as_of: date
    over_limit: bool


class CustomerProfile(msgspec.Struct):
    customer_id: int
    first_name: str
    last_name: str
    age: int
    phone_number: int
    monthly_income: Annotated[int, msgspec.Meta(description="Rupees a month.")]
    approved_limit: Annotated[int, msgspec.Meta(description="Rupees.")]
    current_debt: Annotated[
        Rupees, msgspec.Meta(description="The current loans' outstanding principal.")
    ]
    current_emis: Annotated[Rupees, msgspec.Meta(description="The current loans' EMIs.")]

    @classmethod
    def of(cls, book: CustomerLoans) -> CustomerProfile:
        """The profile's sums are over the loans' states: the same `B` and `e` that view-loan,
        view-loans and the statements show."""
        return cls(
            customer_id=book.customer_id,
            first_name=book.first_name,
            last_name=book.last_name,
            age=book.age,
            phone_number=book.phone_number,
            monthly_income=int(book.monthly_income),
            approved_limit=int(book.approved_limit),
            current_debt=sum((loan.state.outstanding_principal for loan in book.loans), ZERO),
            current_emis=sum((loan.state.monthly_installment for loan in book.loans), ZERO),
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
    reasons: list[Reason]
    policy: Annotated[
        dict[str, Decimal],
        msgspec.Meta(description="Every number of the credit policy in force, by name."),
    ]
    api_key_id: Annotated[
        int | None, msgspec.Meta(description="The API key that applied; null when open.")
    ]

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

    @classmethod
    def of(cls, page: DecisionPage) -> DecisionList:
        return cls([DecisionReport.of(item) for item in page.items], page.next)


# Realistic examples for the OpenAPI document (answers of the real service).
ELIGIBILITY_EXAMPLE = {
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
            "message": "Monthly installments would come to 40817.74 (current 23188.02 + this "
            "loan 17629.72), above the 37500.00 allowed (50% of monthly income).",
        }
    ],
}
CREDIT_SCORE_EXAMPLE = {  # the README's worked example
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
PROFILE_EXAMPLE = {
    "customer_id": 301,
    "first_name": "Aarav",
    "last_name": "Sharma",
    "age": 34,
    "phone_number": 9876543210,
    "monthly_income": 75000,
    "approved_limit": 2700000,
    "current_debt": 481186.98,
    "current_emis": 23188.02,
}
REFUSAL_EXAMPLE = {
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
    "components": CREDIT_SCORE_EXAMPLE["components"],
    "reasons": [
        {
            "code": "emi_over_income_share",
            "message": "Monthly installments would come to 102521.76 (current 23188.02 + this "
            "loan 79333.74), above the 37500.00 allowed (50% of monthly income).",
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
DECISIONS_EXAMPLE = {"items": [REFUSAL_EXAMPLE], "next": None}
