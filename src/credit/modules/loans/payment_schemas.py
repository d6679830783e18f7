"""make-payment's body, and the answers of make-payment and view-statement, each with its
OpenAPI example beside it.

The examples are one loan's story (docs/servicing-example.md): 1,00,000 at 12 % for 12 months
from 15 Jan 2026, a short payment on its second installment, the statement on 1 Jun.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import msgspec

from credit.lending.amortization import to_money
from credit.lending.servicing import Allocation, AmountNotInPaise, LoanState
from credit.lending.statement import RecordedPayment, StatementFigures, statement_figures
from credit.modules.customers.api import NAME_PATTERN
from credit.modules.loans.schemas import ClassificationField, ClassifiedDaysField, ClassifiedOnField
from credit.modules.loans.service import Classified, LoanLedger


def _paid(
    payment_id: int, on: str, amount: float, split: tuple[float, float, float], on_time: bool
) -> dict[str, Any]:
    interest, principal, balance = split
    return {
        "payment_id": payment_id,
        "installment": payment_id,
        "paid_on": on,
        "amount": amount,
        "interest": interest,
        "principal": principal,
        "balance": balance,
        "on_time": on_time,
    }


# Money in answers: exact, written as JSON numbers (`credit.plugins.money`).
Rupees = Annotated[Decimal, msgspec.Meta(description="Rupees, to the paisa.")]


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


class ReversalRequest(msgspec.Struct):
    """The body of reverse-payment."""

    reason: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=200,
            # Some visible character and nothing invisible (the rule of a name).
            pattern=NAME_PATTERN,
            description="Why the payment is reversed (the bank's return reason).",
            examples=["mandate debit returned: insufficient funds"],
        ),
    ]


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

    # docs/servicing-example.md: the short payment on the second installment.
    example: ClassVar[dict[str, Any]] = {
        "payment_id": 2,
        "customer_id": 1,
        "loan_id": 7,
        "installment": 2,
        "paid_on": "2026-03-15",
        "amount": 5000.0,
        "interest": 921.15,
        "principal": 4078.85,
        "balance": 88036.27,
        "on_time": True,
        "monthly_installment": 9295.05,
        "repayments_left": 10,
    }

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
            amount=allocation.amount,
            interest=allocation.interest,
            principal=allocation.principal,
            balance=allocation.balance,
            on_time=allocation.on_time,
            monthly_installment=allocation.monthly_installment,
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
    reference: Annotated[
        str | None,
        msgspec.Meta(
            description="The bank's transaction reference (collections file); null for a "
            "payment made through the API."
        ),
    ] = None
    reversed: Annotated[
        bool,
        msgspec.Meta(description="The payment bounced and was reversed: it counts nowhere."),
    ] = False
    reversed_on: Annotated[date | None, msgspec.Meta(description="The lender's date.")] = None
    reversal_reason: str | None = None

    @classmethod
    def of(cls, payment: RecordedPayment) -> StatementPayment:
        return msgspec.convert(payment, cls, from_attributes=True)


class LoanStatement(msgspec.Struct):
    """view-statement's answer: what was lent, what has been paid, and where the loan stands."""

    customer_id: Annotated[int, msgspec.Meta(examples=[1])]
    loan_id: Annotated[int, msgspec.Meta(examples=[7])]
    principal: Annotated[Rupees, msgspec.Meta(description="The loan amount.", examples=[100000.0])]
    interest_rate: Annotated[Decimal, msgspec.Meta(description="Yearly %.", examples=[12.0])]
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
    classification: ClassificationField = None
    classified_on: ClassifiedOnField = None
    classified_days_past_due: ClassifiedDaysField = None

    # docs/servicing-example.md: the statement on 1 June, after an early, a short and a late
    # payment.
    example: ClassVar[dict[str, Any]] = {
        "customer_id": 1,
        "loan_id": 7,
        "principal": 100000.0,
        "interest_rate": 12.0,
        "amount_paid": 23179.93,
        "monthly_installment": 9295.05,
        "repayments_left": 9,
        "outstanding_principal": 79621.58,
        "next_due_date": "2026-05-15",
        "overdue_installments": 1,
        "days_past_due": 17,
        "payments": [
            _paid(1, "2026-02-05", 8884.88, (1000.0, 7884.88, 92115.12), True),
            _paid(2, "2026-03-15", 5000.0, (921.15, 4078.85, 88036.27), True),
            _paid(3, "2026-04-25", 9295.05, (880.36, 8414.69, 79621.58), False),
        ],
    }

    @classmethod
    def of(
        cls,
        customer_id: int,
        loan_id: int,
        state: LoanState,
        figures: StatementFigures,
        payments: list[RecordedPayment],
        classified: Classified | None = None,
    ) -> LoanStatement:
        classified = classified or Classified()
        return cls(
            customer_id=customer_id,
            loan_id=loan_id,
            principal=state.terms.loan_amount,
            interest_rate=state.terms.interest_rate,
            amount_paid=figures.amount_paid,
            monthly_installment=figures.monthly_installment,
            repayments_left=figures.repayments_left,
            outstanding_principal=figures.outstanding_principal,
            next_due_date=figures.next_due_date,
            overdue_installments=figures.overdue_installments,
            days_past_due=figures.days_past_due,
            payments=[StatementPayment.of(p) for p in payments],
            classification=classified.classification,
            classified_on=classified.classified_on,
            classified_days_past_due=classified.classified_days_past_due,
        )


def statement_of(ledger: LoanLedger, today: date) -> LoanStatement:
    """A loan's statement as of `today`, from its ledger."""
    figures = statement_figures(
        ledger.state, ledger.loaded, ledger.recorded_emi, ledger.payments, today
    )
    return LoanStatement.of(
        ledger.customer_id,
        ledger.loan_id,
        ledger.state,
        figures,
        ledger.payments,
        ledger.classified,
    )
