"""Requests and responses of the loan endpoints (and the shared loan request)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

import msgspec

from credit.lending.amortization import to_money, to_rate
from credit.lending.policy import LoanRequest

LoanAmount = Annotated[
    float,
    msgspec.Meta(
        ge=0.01, le=10_000_000_000, description="Rupees (paise allowed).", examples=[500000]
    ),
]
RATE_PLACES = 4  # rates are stored as NUMERIC(7,4): to 1/10,000 %
RATE_STEP = Decimal(1).scaleb(-RATE_PLACES)
# How far a JSON number may be from a 4-place rate and still be that rate: binary floating
# point's noise (123457 * 0.0001 is 12.345700000000001), never a digit that was sent.
RATE_NOISE = 1e-9
InterestRate = Annotated[
    float,
    msgspec.Meta(
        ge=0,
        le=100,
        description=f"Yearly percentage, at most {RATE_PLACES} decimal places (as stored).",
        examples=[10.5],
        extra_json_schema={"extra": {"multiple_of": float(RATE_STEP)}},
    ),
]
Tenure = Annotated[
    int, msgspec.Meta(ge=1, le=600, description="Monthly installments.", examples=[24])
]
CustomerId = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1, examples=[1])]


class LoanApplication(msgspec.Struct):
    """The body of check-eligibility and create-loan."""

    customer_id: CustomerId
    loan_amount: LoanAmount
    interest_rate: InterestRate
    tenure: Tenure

    def __post_init__(self) -> None:
        # A rate is accepted only as it will be stored, so it is echoed exactly (never
        # rounded without a word); -0.0 is 0.
        stored = Decimal(repr(self.interest_rate)).quantize(RATE_STEP, rounding=ROUND_HALF_UP)
        if abs(float(stored) - self.interest_rate) > RATE_NOISE * max(1.0, self.interest_rate):
            # msgspec's own path suffix, so the error names the field like any other.
            raise ValueError(f"At most {RATE_PLACES} decimal places - at `$.interest_rate`")
        self.interest_rate = float(stored) + 0.0

    def to_request(self) -> LoanRequest:
        """Requests arrive as JSON numbers; money and rates become exact decimals here, once."""
        return LoanRequest(
            amount=to_money(Decimal(str(self.loan_amount))),
            interest_rate=to_rate(Decimal(str(self.interest_rate))),
            tenure=self.tenure,
        )


class CreatedLoan(msgspec.Struct):
    loan_id: int | None
    customer_id: int
    loan_approved: bool
    message: str
    monthly_installment: float


class LoanCustomer(msgspec.Struct):
    id: int
    first_name: str
    last_name: str
    phone_number: int
    age: int


class LoanDetail(msgspec.Struct):
    loan_id: int
    customer: LoanCustomer
    loan_amount: float
    interest_rate: float
    monthly_installment: float
    tenure: int


class CurrentLoan(msgspec.Struct):
    loan_id: int
    loan_amount: float
    interest_rate: float
    monthly_installment: float
    repayments_left: int


class ScheduledInstallment(msgspec.Struct):
    number: int
    due_date: date
    emi: float
    interest: float
    principal: float
    balance: float


class LoanSchedule(msgspec.Struct, omit_defaults=True):
    loan_id: int
    monthly_installment: float
    installments: list[ScheduledInstallment]
    recorded_monthly_installment: float | None = None


# Realistic examples for the OpenAPI document (answers of the real service).
BOOKED_EXAMPLE = {
    "loan_id": 7801,
    "customer_id": 301,
    "loan_approved": True,
    "message": "Loan approved and booked; it ends on 2027-06-15.",
    "monthly_installment": 23188.02,
}
NOT_APPROVED_EXAMPLE = {
    "loan_id": None,
    "customer_id": 301,
    "loan_approved": False,
    "message": "Monthly installments would come to 102521.76 (current 23188.02 + this loan "
    "79333.74), above the 37500.00 allowed (50% of monthly income).",
    "monthly_installment": 79333.74,
}
LOAN_DETAIL_EXAMPLE = {
    "loan_id": 7801,
    "customer": {
        "id": 301,
        "first_name": "Aarav",
        "last_name": "Sharma",
        "phone_number": 9876543210,
        "age": 34,
    },
    "loan_amount": 500000.0,
    "interest_rate": 10.5,
    "monthly_installment": 23188.02,
    "tenure": 24,
}
CURRENT_LOANS_EXAMPLE = [
    {
        "loan_id": 7801,
        "loan_amount": 500000.0,
        "interest_rate": 10.5,
        "monthly_installment": 23188.02,
        "repayments_left": 23,
    }
]
SCHEDULE_EXAMPLE = {
    "loan_id": 7801,
    "monthly_installment": 23188.02,
    "installments": [
        {
            "number": 1,
            "due_date": "2025-07-15",
            "emi": 23188.02,
            "interest": 4375.0,
            "principal": 18813.02,
            "balance": 481186.98,
        },
        {
            "number": 2,
            "due_date": "2025-08-15",
            "emi": 23188.02,
            "interest": 4210.39,
            "principal": 18977.63,
            "balance": 462209.35,
        },
    ],
}
