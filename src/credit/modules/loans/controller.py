"""HTTP: book a loan, view a loan, a customer's current loans, and a loan's schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from credit.api import BAD_REQUEST, NOT_FOUND, CustomerIdPath, LoanIdPath
from credit.modules.credit.service import CreditService
from credit.modules.customers.service import CustomerService
from credit.modules.loans.amortization import (
    monthly_installment,
    plain,
    repayments_left,
    schedule,
)
from credit.modules.loans.booking import BookingGate
from credit.modules.loans.schemas import (
    CreatedLoan,
    CurrentLoan,
    LoanApplication,
    LoanCustomer,
    LoanDetail,
    LoanSchedule,
    ScheduledInstallment,
)
from credit.modules.loans.service import LoanService


class LoanController(Controller):
    path = "/api"
    tags = ["Loans"]

    @post(
        "/create-loan",
        operation_id="createLoan",
        summary="Book a loan if the policy approves it at the requested rate",
        description="Approved: 201 with the new loan id. Not approved: 200 with `loan_id: null` "
        "and a message saying why (and, when only the rate is short, the rate that would be "
        "accepted). Requests for one customer are serialised.",
        status_code=HTTP_201_CREATED,
        responses={
            200: ResponseSpec(CreatedLoan, description="Not approved; nothing was booked."),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def create_loan(
        self,
        data: JSONBody[LoanApplication],
        customers: NamedDependency[CustomerService],
        loans: NamedDependency[LoanService],
        credit: NamedDependency[CreditService],
        today: NamedDependency[date],
        state: State,
    ) -> Response[CreatedLoan]:
        request = data.to_request()
        gate: BookingGate = state.booking_gate
        async with gate.hold(data.customer_id):
            await customers.lock(data.customer_id)
            assessment = await credit.assess(data.customer_id, request, today)
            decision = assessment.decision
            at_requested_rate = monthly_installment(
                request.amount, request.interest_rate, request.tenure
            )
            if not decision.approval:
                return _not_booked(data.customer_id, decision.message, at_requested_rate)
            if decision.corrected_interest_rate != request.interest_rate:
                # Never book at a rate the borrower did not ask for: say what would be accepted.
                return _not_booked(
                    data.customer_id,
                    f"Not approved at {plain(request.interest_rate)}% a year: credit score "
                    f"{assessment.score.score} needs at least {plain(decision.slab.min_rate)}%. "
                    f"Apply again at {plain(decision.corrected_interest_rate)}% or more.",
                    at_requested_rate,
                )
            loan = await loans.book_loan(
                data.customer_id,
                request.amount,
                request.interest_rate,
                request.tenure,
                at_requested_rate,
                today,
            )
            # Commit inside the gate so the next booking for this customer sees this loan.
            await loans.commit()
        return Response(
            CreatedLoan(
                loan_id=loan.id,
                customer_id=data.customer_id,
                loan_approved=True,
                message=f"Loan approved and booked; it ends on {loan.end_date.isoformat()}.",
                monthly_installment=float(at_requested_rate),
            ),
            status_code=HTTP_201_CREATED,
        )

    @get(
        "/view-loan/{loan_id:int}",
        operation_id="viewLoan",
        summary="One loan with its customer",
        responses={**BAD_REQUEST, **NOT_FOUND},
    )
    async def view_loan(
        self, loan_id: LoanIdPath, loans: NamedDependency[LoanService]
    ) -> LoanDetail:
        loan, customer = await loans.loan_with_customer(loan_id)
        return LoanDetail(
            loan_id=loan.id,
            customer=LoanCustomer(
                id=customer.id,
                first_name=customer.first_name,
                last_name=customer.last_name,
                phone_number=customer.phone_number,
                age=customer.age,
            ),
            loan_amount=float(loan.loan_amount),
            interest_rate=float(loan.interest_rate),
            monthly_installment=float(loan.monthly_installment),
            tenure=loan.tenure,
        )

    @get(
        "/view-loans/{customer_id:int}",
        operation_id="viewCustomerLoans",
        summary="A customer's current loans",
        description="Loans with at least one installment still to fall due; `[]` when none.",
        responses={**BAD_REQUEST, **NOT_FOUND},
    )
    async def view_loans(
        self,
        customer_id: CustomerIdPath,
        loans: NamedDependency[LoanService],
        today: NamedDependency[date],
    ) -> list[CurrentLoan]:
        return [
            CurrentLoan(
                loan_id=row.loan_id,
                loan_amount=float(row.loan_amount),
                interest_rate=float(row.interest_rate),
                monthly_installment=float(row.monthly_installment),
                repayments_left=repayments_left(row.start_date, row.tenure, today),
            )
            for row in await loans.current_loans(customer_id, today)
        ]

    @get(
        "/loans/{loan_id:int}/schedule",
        operation_id="loanSchedule",
        summary="A loan's repayment schedule",
        description="Every installment at the compound-interest EMI; the last one absorbs "
        "rounding. An ingested loan whose recorded monthly payment differs from the formula "
        "also shows `recorded_monthly_installment`.",
        responses={**BAD_REQUEST, **NOT_FOUND},
    )
    async def loan_schedule(
        self, loan_id: LoanIdPath, loans: NamedDependency[LoanService]
    ) -> LoanSchedule:
        loan = await loans.get_loan(loan_id)
        rows = schedule(loan.loan_amount, loan.interest_rate, loan.tenure, loan.start_date)
        formula_emi = monthly_installment(loan.loan_amount, loan.interest_rate, loan.tenure)
        return LoanSchedule(
            loan_id=loan.id,
            monthly_installment=float(formula_emi),
            installments=[
                ScheduledInstallment(
                    number=row.number,
                    due_date=row.due_date,
                    emi=float(row.emi),
                    interest=float(row.interest),
                    principal=float(row.principal),
                    balance=float(row.balance),
                )
                for row in rows
            ],
            recorded_monthly_installment=(
                float(loan.monthly_installment) if loan.monthly_installment != formula_emi else None
            ),
        )


def _not_booked(customer_id: int, message: str, installment: Decimal) -> Response[CreatedLoan]:
    return Response(
        CreatedLoan(
            loan_id=None,
            customer_id=customer_id,
            loan_approved=False,
            message=message,
            monthly_installment=float(installment),
        ),
        status_code=HTTP_200_OK,
    )
