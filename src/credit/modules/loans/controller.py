"""HTTP: book a loan, view a loan, a customer's current loans, and a loan's schedule."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from credit.api import (
    BAD_REQUEST,
    NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    CustomerIdPath,
    LoanIdPath,
    ok,
)
from credit.lending.amortization import monthly_installment, repayments_left, schedule
from credit.modules.customers.service import provide_customers
from credit.modules.loans.booking import BookingDesk, provide_booking_desk
from credit.modules.loans.schemas import (
    BOOKED_EXAMPLE,
    CURRENT_LOANS_EXAMPLE,
    LOAN_DETAIL_EXAMPLE,
    NOT_APPROVED_EXAMPLE,
    SCHEDULE_EXAMPLE,
    CreatedLoan,
    CurrentLoan,
    LoanApplication,
    LoanCustomer,
    LoanDetail,
    LoanSchedule,
    ScheduledInstallment,
)
from credit.modules.loans.service import LoanService, provide_loans


class LoanController(Controller):
    path = "/api"
    tags = ["Loans"]
    dependencies = {
        "loans": Provide(provide_loans),
        "customers": Provide(provide_customers),
        "bookings": Provide(provide_booking_desk, sync_to_thread=False),
    }

    @post(
        "/create-loan",
        operation_id="createLoan",
        summary="Book a loan if the policy approves it at the requested rate",
        description="Approved: 201 with the new loan id. Not approved: 200 with `loan_id: null` "
        "and a message saying why (and, when only the rate is short, the rate that would be "
        "accepted). Bookings for one customer take effect one at a time: each is decided on "
        "the book with every earlier booking (and ingestion) in it.",
        status_code=HTTP_201_CREATED,
        responses={
            201: ok(CreatedLoan, "Approved and booked.", BOOKED_EXAMPLE),
            200: ok(CreatedLoan, "Not approved; nothing was booked.", NOT_APPROVED_EXAMPLE),
            **BAD_REQUEST,
            **NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
        },
    )
    async def create_loan(
        self,
        data: JSONBody[LoanApplication],
        bookings: NamedDependency[BookingDesk],
        today: NamedDependency[date],
    ) -> Response[CreatedLoan]:
        booking = await bookings.book(data.customer_id, data.to_request(), today)
        return Response(
            CreatedLoan(
                loan_id=booking.loan.id if booking.loan else None,
                customer_id=data.customer_id,
                loan_approved=booking.loan is not None,
                message=booking.message,
                monthly_installment=float(booking.monthly_installment),
            ),
            status_code=HTTP_201_CREATED if booking.loan else HTTP_200_OK,
        )

    @get(
        "/view-loan/{loan_id:int}",
        operation_id="viewLoan",
        summary="One loan with its customer",
        responses={
            200: ok(LoanDetail, "The loan and its customer.", LOAN_DETAIL_EXAMPLE),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
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
        responses={
            200: ok(list[CurrentLoan], "The current loans.", CURRENT_LOANS_EXAMPLE),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
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
        responses={
            200: ok(LoanSchedule, "Every installment, first to last.", SCHEDULE_EXAMPLE),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
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
