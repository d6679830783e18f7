"""Responses of the eligibility, credit-score and customer-profile endpoints."""

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


class CustomerProfile(msgspec.Struct):
    customer_id: int
    first_name: str
    last_name: str
    age: int
    phone_number: int
    monthly_income: float
    approved_limit: float
    current_debt: float
    current_emis: float
