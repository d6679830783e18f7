"""Requests and responses of the loan endpoints (and the shared loan request), payments and
statements included."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import msgspec

from credit.ids import MAX_ID
from credit.lending.amortization import to_money, to_rate
from credit.lending.classification import Classification
from credit.lending.policy import LoanRequest
from credit.lending.reasons import Reason
from credit.lending.statement import LoanPlan, ScheduleLine, standing

if TYPE_CHECKING:
    from credit.lending.servicing import LoanState
    from credit.modules.loans.booking import Booking
    from credit.modules.loans.service import LoanWithCustomer, StoredLoan

# Money and rates in answers: exact, written as JSON numbers (`credit.plugins.money`).
Rupees = Annotated[Decimal, msgspec.Meta(description="Rupees, to the paisa.")]
YearlyRate = Annotated[Decimal, msgspec.Meta(description="Yearly %.")]

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
CustomerId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID, examples=[1])]


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
    message: Annotated[
        str, msgspec.Meta(description="The approval, or the first reason's message.")
    ]
    monthly_installment: Annotated[
        Rupees, msgspec.Meta(description="The EMI at the requested rate.")
    ]
    decision_id: Annotated[
        int,
        msgspec.Meta(
            description="The application's record (`GET /api/decisions/{decision_id}`); a "
            "replay with the same Idempotency-Key gives the same one."
        ),
    ]
    reasons: Annotated[
        list[Reason],
        msgspec.Meta(
            description="Every rule that stops approval, in policy order, with its figures; "
            "[] when booked."
        ),
    ]

    example: ClassVar[dict[str, Any]] = {
        "loan_id": 7801,
        "customer_id": 301,
        "loan_approved": True,
        "message": "Loan approved and booked; it ends on 2027-06-15.",
        "monthly_installment": 23188.02,
        "decision_id": 811,
        "reasons": [],
    }
    not_approved_example: ClassVar[dict[str, Any]] = {
        "loan_id": None,
        "customer_id": 301,
        "loan_approved": False,
        "message": "Monthly installments would come to 102521.76 (current 23188.02 + this loan "
        "79333.74), above the 37500.00 allowed (50% of monthly income).",
        "monthly_installment": 79333.74,
        "decision_id": 812,
        "reasons": [
            {
                "code": "emi_over_income_share",
                "message": "Monthly installments would come to 102521.76 (current 23188.02 + "
                "this loan 79333.74), above the 37500.00 allowed (50% of monthly income).",
            }
        ],
    }

    @classmethod
    def of(cls, customer_id: int, booking: Booking) -> CreatedLoan:
        return cls(
            loan_id=booking.loan.id if booking.loan else None,
            customer_id=customer_id,
            loan_approved=booking.loan is not None,
            message=booking.message,
            monthly_installment=booking.monthly_installment,
            decision_id=booking.decision_id,
            reasons=list(booking.reasons),
        )


class LoanCustomer(msgspec.Struct):
    id: int
    first_name: str
    last_name: str
    phone_number: int
    age: int


# The latest close of day's figures (view-loan and view-statement).
ClassificationField = Annotated[
    Classification | None,
    msgspec.Meta(
        description="The loan's asset classification at the latest close of day; null before "
        "the first close, or for a loan that close did not find (lent after it, or paid off)."
    ),
]
ClassifiedOnField = Annotated[
    date | None, msgspec.Meta(description="The latest closed date (with `classification`).")
]
ClassifiedDaysField = Annotated[
    int | None,
    msgspec.Meta(description="The loan's days past due at that close (not today's)."),
]


class LoanDetail(msgspec.Struct):
    """view-loan's answer. Its figures are where the loan stands today
    (`statement.standing`): the same EMI, installments left and balance as its statement,
    view-loans and the profile."""

    loan_id: int
    customer: LoanCustomer
    loan_amount: Rupees
    interest_rate: YearlyRate
    monthly_installment: Annotated[
        Rupees,
        msgspec.Meta(
            description="The current EMI: recalculated by a payment of another amount; 0 once "
            "the loan is closed."
        ),
    ]
    tenure: int
    repayments_left: Annotated[int, msgspec.Meta(description="Installments not yet settled.")]
    outstanding_principal: Rupees
    status: Annotated[
        Literal["current", "closed"],
        msgspec.Meta(description="`closed` once paid off (early or not)."),
    ]
    days_past_due: Annotated[
        int,
        msgspec.Meta(
            description="Days since the oldest overdue installment fell due, as of today (the "
            "statement's figure); 0 if none."
        ),
    ]
    classification: ClassificationField = None
    classified_on: ClassifiedOnField = None
    classified_days_past_due: ClassifiedDaysField = None

    example: ClassVar[dict[str, Any]] = {
        "loan_id": 7801,
        "customer": {
            "id": 301,
            "first_name": "Aarav",
            "last_name": "Sharma",
            "phone_number": 9876543210,
            "age": 34,
        },
        "loan_amount": 500000.00,
        "interest_rate": 10.5,
        "monthly_installment": 23188.02,
        "tenure": 24,
        "repayments_left": 23,
        "outstanding_principal": 481186.98,
        "status": "current",
        "days_past_due": 0,
        "classification": "standard",
        "classified_on": "2026-06-30",
        "classified_days_past_due": 0,
    }

    @classmethod
    def of(cls, found: LoanWithCustomer, today: date) -> LoanDetail:
        c = found.customer
        terms, now = found.loan.state.terms, standing(found.loan.state, today)
        return cls(
            loan_id=found.loan.loan_id,
            customer=LoanCustomer(c.id, c.first_name, c.last_name, c.phone_number, c.age),
            loan_amount=terms.loan_amount,
            interest_rate=terms.interest_rate,
            monthly_installment=now.monthly_installment,
            tenure=terms.tenure,
            repayments_left=now.repayments_left,
            outstanding_principal=now.outstanding_principal,
            status="closed" if now.status == "closed" else "current",
            days_past_due=now.days_past_due,
            classification=found.classified.classification,
            classified_on=found.classified.classified_on,
            classified_days_past_due=found.classified.classified_days_past_due,
        )


class CurrentLoan(msgspec.Struct):
    loan_id: int
    loan_amount: Rupees
    interest_rate: YearlyRate
    monthly_installment: Annotated[Rupees, msgspec.Meta(description="The current EMI.")]
    repayments_left: int

    example: ClassVar[dict[str, Any]] = {
        "loan_id": 7801,
        "loan_amount": 500000.00,
        "interest_rate": 10.5,
        "monthly_installment": 23188.02,
        "repayments_left": 23,
    }

    @classmethod
    def of(cls, loan: StoredLoan) -> CurrentLoan:
        state = loan.state
        return cls(
            loan_id=loan.loan_id,
            loan_amount=state.terms.loan_amount,
            interest_rate=state.terms.interest_rate,
            monthly_installment=state.monthly_installment,
            repayments_left=state.repayments_left,
        )


class ScheduledInstallment(msgspec.Struct, omit_defaults=True):
    """One installment. A settled one says what settled it: `"loading"` (as the files said)
    or `"payment"`, with the payment's id, date and on-time flag (`emi` is then the amount
    paid, split into `interest` and `principal`); the installments still to come have none."""

    number: int
    due_date: date
    emi: Rupees
    interest: Rupees
    principal: Rupees
    balance: Rupees
    settled_by: Annotated[
        str | None, msgspec.Meta(description='"loading" or "payment"; absent when planned.')
    ] = None
    payment_id: int | None = None
    paid_on: date | None = None
    on_time: bool | None = None

    @classmethod
    def of(cls, line: ScheduleLine) -> ScheduledInstallment:
        return msgspec.convert(line, cls, from_attributes=True)


class LoanSchedule(msgspec.Struct, omit_defaults=True):
    loan_id: int
    monthly_installment: Annotated[
        Rupees, msgspec.Meta(description="The current EMI, as every view of the loan shows it.")
    ]
    installments: list[ScheduledInstallment]
    recorded_monthly_installment: Annotated[
        Rupees | None,
        msgspec.Meta(
            description="The files' `Monthly payment`, where it differs from the formula's EMI "
            "(the installments follow the formula)."
        ),
    ] = None

    example: ClassVar[dict[str, Any]] = {
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

    @classmethod
    def of(
        cls, loan_id: int, state: LoanState, recorded_emi: Decimal, plan: LoanPlan
    ) -> LoanSchedule:
        """`monthly_installment` is the loan's current EMI (one truth per loan);
        `recorded_monthly_installment` only where the files recorded another EMI than the
        formula's, which the installments follow."""
        formula_emi = plan.monthly_installment
        return cls(
            loan_id=loan_id,
            monthly_installment=state.monthly_installment,
            installments=[ScheduledInstallment.of(line) for line in plan.lines],
            recorded_monthly_installment=(recorded_emi if recorded_emi != formula_emi else None),
        )
