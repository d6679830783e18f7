"""Responses of the eligibility and credit-score endpoints."""

from __future__ import annotations

from datetime import date

import msgspec


class Eligibility(msgspec.Struct):
    customer_id: int
    approval: bool
    interest_rate: float
    corrected_interest_rate: float
    tenure: int
    monthly_installment: float
    credit_score: int
    message: str


class ScoreComponent(msgspec.Struct):
    name: str
    value: float
    points: float
    max_points: int


class CreditScoreReport(msgspec.Struct):
    customer_id: int
    credit_score: int
    components: list[ScoreComponent]
    slab: str
    as_of: date
    over_limit: bool


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
