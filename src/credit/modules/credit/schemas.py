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
