"""HTTP: book a loan, view a loan, a customer's current loans and a loan's schedule; record a
payment and show a loan's statement."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from credit.http import (
    BAD_REQUEST,
    MAX_ID,
    NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    CustomerIdPath,
    LoanIdPath,
    error,
    ok,
)
from credit.lending.statement import loan_plan
from credit.modules.loans.booking import BookingDesk
from credit.modules.loans.idempotency import IdempotencyKeyHeader, fingerprint, key_scope
from credit.modules.loans.payment_schemas import (
    LoanStatement,
    PaymentReceipt,
    PaymentRequest,
    ReversalRequest,
    statement_of,
)
from credit.modules.loans.payments import PaymentDesk
from credit.modules.loans.responses import (
    KEY_REUSED,
    LOAN_CLOSED,
    LOAN_OF_CUSTOMER_NOT_FOUND,
    PAYMENT_BAD_REQUEST,
    PAYMENT_REFUSED,
    STATEMENT_BAD_REQUEST,
)
from credit.modules.loans.schemas import (
    CreatedLoan,
    CurrentLoan,
    LoanApplication,
    LoanDetail,
    LoanSchedule,
)
from credit.modules.loans.service import LoanService
from credit.plugins.money import ExactResponse

PaymentIdPath = Annotated[
    int, Parameter(ge=1, le=MAX_ID, description="The payment's id (`payment_id`).")
]


class LoanController(Controller):
    """`loans`, `bookings` (the booking desk) and `payments` (the payment desk) come from
    this module's `deps.py`, with the app's policy, gates and clock."""

    path = "/api"
    tags = ["Loans"]

    @post(
        "/create-loan",
        operation_id="createLoan",
        summary="Book a loan if the policy approves it at the requested rate",
        description="Approved: 201 with the new loan id. Not approved: 200 with `loan_id: null` "
        "and every rule that stops it in `reasons` (in policy order; `message` is the first). "
        "Either way the answer's `decision_id` names its record. Bookings for one customer "
        "take effect one at a time: each is decided on the book with every earlier booking "
        "(and ingestion) in it.",
        status_code=HTTP_201_CREATED,
        responses={
            201: ok(CreatedLoan, "Approved and booked."),
            200: ok(
                CreatedLoan, "Not approved; nothing was booked.", CreatedLoan.not_approved_example
            ),
            **BAD_REQUEST,
            **NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
            **KEY_REUSED,
        },
    )
    async def create_loan(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoanApplication],
        bookings: NamedDependency[BookingDesk],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[CreatedLoan]:
        auth = request.scope.get("auth")

        async def book() -> tuple[int, CreatedLoan]:
            booking = await bookings.book(
                data.customer_id, data.to_request(), getattr(auth, "key_id", None)
            )
            answer = CreatedLoan.of(data.customer_id, booking)
            return (HTTP_201_CREATED if booking.loan else HTTP_200_OK), answer

        # The desk's own idempotent writes: one dependency for the whole booking.
        status, answer = await bookings.writes.run(
            key_scope("create-loan", auth),
            idempotency_key,
            fingerprint(request.method, request.url.path, data),
            CreatedLoan,
            book,
        )
        return ExactResponse(answer, status_code=status)

    @get(
        "/view-loan/{loan_id:int}",
        operation_id="viewLoan",
        summary="One loan with its customer",
        description="The loan's figures are where it stands today: the current EMI (after a "
        "payment of another amount, the recalculated one), the installments left, the balance, "
        "whether it is current, and its days past due, the same figures as its statement.",
        responses={
            200: ok(LoanDetail, "The loan and its customer."),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def view_loan(
        self, loan_id: LoanIdPath, loans: NamedDependency[LoanService], today: NamedDependency[date]
    ) -> LoanDetail:
        return LoanDetail.of(await loans.loan_with_customer(loan_id), today)

    @get(
        "/view-loans/{customer_id:int}",
        operation_id="viewCustomerLoans",
        summary="A customer's current loans",
        description="Loans with an outstanding balance (installments not yet settled), each "
        "with its current EMI and the installments left to settle; `[]` when none. A loan "
        "paid off early is not current.",
        responses={
            200: ok(list[CurrentLoan], "The current loans.", [CurrentLoan.example]),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def view_loans(
        self, customer_id: CustomerIdPath, loans: NamedDependency[LoanService]
    ) -> list[CurrentLoan]:
        book = await loans.customer_loans(customer_id)
        return [CurrentLoan.of(loan) for loan in book.loans]

    @get(
        "/loans/{loan_id:int}/schedule",
        operation_id="loanSchedule",
        summary="A loan's repayment schedule",
        description="Every installment at the compound-interest EMI; the last one absorbs "
        "rounding. An ingested loan whose recorded monthly payment differs from the formula "
        "also shows `recorded_monthly_installment`. Once payments are recorded, the settled "
        "installments say what settled them (`settled_by`: the files or a payment, with its "
        "date and split) and the installments still to come are planned from the current "
        "balance at the current EMI.",
        responses={
            200: ok(LoanSchedule, "Every installment, first to last."),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def loan_schedule(
        self, loan_id: LoanIdPath, loans: NamedDependency[LoanService]
    ) -> LoanSchedule:
        ledger = await loans.ledger(loan_id)
        plan = loan_plan(ledger.state, ledger.loaded, ledger.payments)
        return LoanSchedule.of(ledger.loan_id, ledger.state, ledger.recorded_emi, plan)

    @post(
        "/make-payment/{customer_id:int}/{loan_id:int}",
        operation_id="makePayment",
        summary="Record a payment: it settles the loan's next installment",
        description="Interest on the outstanding balance first (one month, rounded half up), "
        "the rest principal. An amount other than the EMI recalculates the EMI over the "
        "installments still to come; exactly the payoff (balance + interest) closes the loan. "
        "`paid_on` defaults to today; it may not be after today, before the loan's start or "
        "before the loan's last payment. Payments of one loan are applied one at a time.",
        status_code=HTTP_201_CREATED,
        responses={
            201: ok(PaymentReceipt, "The payment is recorded; the loan as it stands after it."),
            **PAYMENT_BAD_REQUEST,
            **LOAN_OF_CUSTOMER_NOT_FOUND,
            **LOAN_CLOSED,
            **PAYMENT_REFUSED,
            **UNSUPPORTED_MEDIA_TYPE,
        },
    )
    async def make_payment(
        self,
        request: Request[Any, Any, Any],
        customer_id: CustomerIdPath,
        loan_id: LoanIdPath,
        data: JSONBody[PaymentRequest],
        payments: NamedDependency[PaymentDesk],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[PaymentReceipt]:
        amount = data.exact_amount()

        async def pay() -> tuple[int, PaymentReceipt]:
            recorded = await payments.pay(customer_id, loan_id, amount, data.paid_on)
            receipt = PaymentReceipt.of(
                recorded.payment_id, customer_id, loan_id, recorded.allocation
            )
            return HTTP_201_CREATED, receipt

        status, receipt = await payments.writes.run(
            key_scope("make-payment", request.scope.get("auth")),
            idempotency_key,
            fingerprint(request.method, request.url.path, data),
            PaymentReceipt,
            pay,
        )
        return ExactResponse(receipt, status_code=status)

    @get(
        "/view-statement/{customer_id:int}/{loan_id:int}",
        operation_id="viewStatement",
        summary="A loan's statement: what was lent, what has been paid, where it stands",
        description="`amount_paid` counts the installments settled before loading at the "
        "recorded EMI plus every payment; `overdue_installments` are unsettled installments "
        "whose due date has passed, `days_past_due` counts from the oldest of them.",
        responses={
            200: ok(LoanStatement, "The loan's statement."),
            **STATEMENT_BAD_REQUEST,
            **LOAN_OF_CUSTOMER_NOT_FOUND,
        },
    )
    async def view_statement(
        self,
        customer_id: CustomerIdPath,
        loan_id: LoanIdPath,
        loans: NamedDependency[LoanService],
        today: NamedDependency[date],
    ) -> LoanStatement:
        return statement_of(await loans.ledger(loan_id, customer_id), today)

    @post(
        "/reverse-payment/{customer_id:int}/{loan_id:int}/{payment_id:int}",
        operation_id="reversePayment",
        summary="Reverse a payment that bounced: the loan returns to its state before it",
        description="Only the latest payment of the loan that is not reversed can be reversed "
        "(another: 409, `extra.latest_payment_id` names the latest). The loan's balance, "
        "installments settled and EMI go back exactly to what they were before it (a loan it "
        "closed is current again). The payment stays on the statement with `reversed: true`, "
        "`reversed_on` and `reversal_reason`, and counts nowhere else. Answers the statement "
        "after the reversal.",
        status_code=HTTP_200_OK,
        responses={
            200: ok(LoanStatement, "The statement after the reversal."),
            **STATEMENT_BAD_REQUEST,
            **LOAN_OF_CUSTOMER_NOT_FOUND,
            409: error("Not the loan's latest standing payment; `extra` names it.", 409),
            **KEY_REUSED,
            **UNSUPPORTED_MEDIA_TYPE,
        },
    )
    async def reverse_payment(
        self,
        request: Request[Any, Any, Any],
        customer_id: CustomerIdPath,
        loan_id: LoanIdPath,
        payment_id: PaymentIdPath,
        data: JSONBody[ReversalRequest],
        payments: NamedDependency[PaymentDesk],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[LoanStatement]:
        async def reverse() -> tuple[int, LoanStatement]:
            ledger = await payments.reverse(customer_id, loan_id, payment_id, data.reason)
            return HTTP_200_OK, statement_of(ledger, payments.today)

        status, statement = await payments.writes.run(
            key_scope("reverse-payment", request.scope.get("auth")),
            idempotency_key,
            fingerprint(request.method, request.url.path, data),
            LoanStatement,
            reverse,
        )
        return ExactResponse(statement, status_code=status)
