"""Requests and responses of the loan endpoints (and the shared loan request), payments and
statements included."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

import msgspec

from credit.ids import MAX_ID
from credit.lending.amortization import to_money, to_rate
from credit.lending.policy import LoanRequest
from credit.lending.servicing import (
    Allocation,
    AmountNotInPaise,
    LoanState,
    RecordedPayment,
    StatementFigures,
)

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


class ScheduledInstallment(msgspec.Struct, omit_defaults=True):
    """One installment. A settled one says what settled it: `"loading"` (as the files said)
    or `"payment"`, with the payment's id, date and on-time flag (`emi` is then the amount
    paid, split into `interest` and `principal`); the installments still to come have none."""

    number: int
    due_date: date
    emi: float
    interest: float
    principal: float
    balance: float
    settled_by: Annotated[
        str | None, msgspec.Meta(description='"loading" or "payment"; absent when planned.')
    ] = None
    payment_id: int | None = None
    paid_on: date | None = None
    on_time: bool | None = None


class LoanSchedule(msgspec.Struct, omit_defaults=True):
    loan_id: int
    monthly_installment: float
    installments: list[ScheduledInstallment]
    recorded_monthly_installment: float | None = None


# --- Servicing: make-payment and view-statement ---------------------------------------------
# The examples are one loan's story (docs/servicing-example.md): 1,00,000 at 12 % for 12
# months from 15 Jan 2026, a short payment on its second installment, the statement on 1 Jun.

Rupees = Annotated[float, msgspec.Meta(description="Rupees, to the paisa.")]


class PaymentRequest(msgspec.Struct):
    """The body of make-payment."""

    amount: Annotated[
        float,
        msgspec.Meta(
            ge=0.01,
            le=10_000_000_000,
            description="Rupees, more than 0 with at most 2 decimals. Under the installment's "
            "interest or over the payoff is refused (422); exactly the payoff closes the loan.",
            examples=[5000],
            extra_json_schema={"extra": {"multiple_of": 0.01}},
        ),
    ]
    paid_on: Annotated[
        date | None,
        msgspec.Meta(
            description="The day the money was received; today when left out. Not after "
            "today, not before the loan's start, not before the loan's last payment.",
            examples=["2026-03-15"],
        ),
    ] = None

    def exact_amount(self) -> Decimal:
        """The amount as an exact decimal; more than 2 decimals is refused, not rounded."""
        amount = Decimal(str(self.amount))
        if amount != to_money(amount):
            raise AmountNotInPaise(amount)
        return to_money(amount)


class PaymentReceipt(msgspec.Struct):
    """make-payment's answer: the installment the payment settled and the loan after it."""

    payment_id: Annotated[int, msgspec.Meta(examples=[2])]
    customer_id: Annotated[int, msgspec.Meta(examples=[1])]
    loan_id: Annotated[int, msgspec.Meta(examples=[7])]
    installment: Annotated[
        int, msgspec.Meta(description="The installment settled (1 = the first).", examples=[2])
    ]
    paid_on: Annotated[date, msgspec.Meta(examples=["2026-03-15"])]
    amount: Annotated[Rupees, msgspec.Meta(examples=[5000.0])]
    interest: Annotated[
        Rupees,
        msgspec.Meta(description="One month on the balance before it.", examples=[921.15]),
    ]
    principal: Annotated[Rupees, msgspec.Meta(examples=[4078.85])]
    balance: Annotated[
        Rupees, msgspec.Meta(description="Outstanding principal after it.", examples=[88036.27])
    ]
    on_time: Annotated[
        bool,
        msgspec.Meta(description="Paid on or before the installment's due date.", examples=[True]),
    ]
    monthly_installment: Annotated[
        Rupees,
        msgspec.Meta(
            description="The EMI from now on: recalculated over the installments left when "
            "the amount differed from it; 0 once the loan is paid off.",
            examples=[9295.05],
        ),
    ]
    repayments_left: Annotated[int, msgspec.Meta(examples=[10])]

    @classmethod
    def of(
        cls, payment_id: int, customer_id: int, loan_id: int, allocation: Allocation
    ) -> PaymentReceipt:
        return cls(
            payment_id=payment_id,
            customer_id=customer_id,
            loan_id=loan_id,
            installment=allocation.installment,
            paid_on=allocation.paid_on,
            amount=float(allocation.amount),
            interest=float(allocation.interest),
            principal=float(allocation.principal),
            balance=float(allocation.balance),
            on_time=allocation.on_time,
            monthly_installment=float(allocation.monthly_installment),
            repayments_left=allocation.repayments_left,
        )


class StatementPayment(msgspec.Struct):
    payment_id: Annotated[int, msgspec.Meta(examples=[2])]
    installment: Annotated[int, msgspec.Meta(examples=[2])]
    paid_on: Annotated[date, msgspec.Meta(examples=["2026-03-15"])]
    amount: Annotated[Rupees, msgspec.Meta(examples=[5000.0])]
    interest: Annotated[Rupees, msgspec.Meta(examples=[921.15])]
    principal: Annotated[Rupees, msgspec.Meta(examples=[4078.85])]
    balance: Annotated[Rupees, msgspec.Meta(examples=[88036.27])]
    on_time: Annotated[bool, msgspec.Meta(examples=[True])]

    @classmethod
    def of(cls, payment: RecordedPayment) -> StatementPayment:
        return cls(
            payment_id=payment.payment_id,
            installment=payment.installment,
            paid_on=payment.paid_on,
            amount=float(payment.amount),
            interest=float(payment.interest),
            principal=float(payment.principal),
            balance=float(payment.balance),
            on_time=payment.on_time,
        )


class LoanStatement(msgspec.Struct):
    """view-statement's answer: what was lent, what has been paid, and where the loan stands."""

    customer_id: Annotated[int, msgspec.Meta(examples=[1])]
    loan_id: Annotated[int, msgspec.Meta(examples=[7])]
    principal: Annotated[Rupees, msgspec.Meta(description="The loan amount.", examples=[100000.0])]
    interest_rate: Annotated[float, msgspec.Meta(description="Yearly %.", examples=[12.0])]
    amount_paid: Annotated[
        Rupees,
        msgspec.Meta(
            description="Every settled installment: those settled before loading at the "
            "recorded EMI, plus every payment.",
            examples=[23179.93],
        ),
    ]
    monthly_installment: Annotated[
        Rupees, msgspec.Meta(description="The current EMI.", examples=[9295.05])
    ]
    repayments_left: Annotated[
        int, msgspec.Meta(description="Installments not yet settled.", examples=[9])
    ]
    outstanding_principal: Annotated[Rupees, msgspec.Meta(examples=[79621.58])]
    next_due_date: Annotated[
        date | None,
        msgspec.Meta(
            description="Due date of the next installment; null when paid off.",
            examples=["2026-05-15"],
        ),
    ]
    overdue_installments: Annotated[
        int,
        msgspec.Meta(description="Unsettled installments whose due date has passed.", examples=[1]),
    ]
    days_past_due: Annotated[
        int,
        msgspec.Meta(
            description="Days since the oldest overdue installment fell due; 0 if none.",
            examples=[17],
        ),
    ]
    payments: list[StatementPayment]

    @classmethod
    def of(
        cls,
        customer_id: int,
        loan_id: int,
        state: LoanState,
        figures: StatementFigures,
        payments: list[RecordedPayment],
    ) -> LoanStatement:
        return cls(
            customer_id=customer_id,
            loan_id=loan_id,
            principal=float(state.terms.loan_amount),
            interest_rate=float(state.terms.interest_rate),
            amount_paid=float(figures.amount_paid),
            monthly_installment=float(figures.monthly_installment),
            repayments_left=figures.repayments_left,
            outstanding_principal=float(figures.outstanding_principal),
            next_due_date=figures.next_due_date,
            overdue_installments=figures.overdue_installments,
            days_past_due=figures.days_past_due,
            payments=[StatementPayment.of(p) for p in payments],
        )


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
