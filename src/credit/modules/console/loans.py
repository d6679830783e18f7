"""A loan's page: the statement, the schedule with its settled installments marked, a chart of
the balance over the installments, and the form that records a payment (write scope, with an
`Idempotency-Key` made when the form was drawn). The figures are the API's answers
(`view-loan`, `view-statement`, `/schedule`) from the same services."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.status_codes import HTTP_201_CREATED, HTTP_409_CONFLICT

from credit.http import LoanIdPath
from credit.idempotency import fingerprint, key_scope
from credit.lending.servicing import LoanClosed, PaymentRefused
from credit.lending.statement import loan_plan, statement_figures
from credit.modules.console.charts import line_chart
from credit.modules.console.forms import FormErrors, read_form
from credit.modules.console.officer import Officer
from credit.modules.console.pages import page, see_other
from credit.modules.loans.api import (
    LoanDetail,
    LoanSchedule,
    LoanService,
    LoanStatement,
    PaymentDesk,
    PaymentReceipt,
    PaymentRequest,
)

PAYMENT_FIELDS = ("amount", "paid_on")


async def loan_context(loans: LoanService, loan_id: int, today: date) -> dict[str, Any]:
    detail = LoanDetail.of(await loans.loan_with_customer(loan_id), today)
    ledger = await loans.ledger(loan_id)
    figures = statement_figures(
        ledger.state, ledger.loaded, ledger.recorded_emi, ledger.payments, today
    )
    statement = LoanStatement.of(
        ledger.customer_id, loan_id, ledger.state, figures, ledger.payments
    )
    plan = loan_plan(ledger.state, ledger.loaded, ledger.payments)
    schedule = LoanSchedule.of(ledger.loan_id, ledger.state, ledger.recorded_emi, plan)
    terms = ledger.state.terms
    chart = line_chart(
        [(i.due_date, i.balance, i.settled_by is not None) for i in schedule.installments],
        start=(terms.start_date, terms.loan_amount),
    )
    return {
        "loan": detail,
        "statement": statement,
        "schedule": schedule,
        "chart": chart,
        "amount_due": ledger.state.amount_due,
        "start_date": terms.start_date,
        "today": today,
    }


class LoanPagesController(Controller):
    path = "/console/loans"

    @get("/{loan_id:int}", name="console:loan")
    async def loan(
        self,
        loan_id: LoanIdPath,
        officer: NamedDependency[Officer],
        loans: NamedDependency[LoanService],
        today: NamedDependency[date],
        paid: FromQuery[int | None] = None,
        booked: FromQuery[int | None] = None,
    ) -> Response[Any]:
        context = await loan_context(loans, loan_id, today)
        return page(
            "loan.html",
            officer,
            **context,
            paid=paid,
            booked=booked,
            form={},
            errors={},
            idempotency_key=uuid.uuid4().hex,
        )

    @post("/{loan_id:int}/payments", name="console:pay")
    async def pay(
        self,
        request: Request[Any, Any, Any],
        loan_id: LoanIdPath,
        officer: NamedDependency[Officer],
        loans: NamedDependency[LoanService],
        payments: NamedDependency[PaymentDesk],
        today: NamedDependency[date],
    ) -> Response[Any]:
        officer.require_write()
        form = dict(await request.form())
        status = 422
        try:
            data = read_form(form, PaymentRequest, PAYMENT_FIELDS)
            amount = data.exact_amount()
            customer_id = (await loans.ledger(loan_id)).customer_id

            async def pay() -> tuple[int, PaymentReceipt]:
                recorded = await payments.pay(customer_id, loan_id, amount, data.paid_on)
                receipt = PaymentReceipt.of(
                    recorded.payment_id, customer_id, loan_id, recorded.allocation
                )
                return HTTP_201_CREATED, receipt

            key = str(form.get("idempotency_key") or "").strip()[:255] or None
            _, receipt = await payments.writes.run(
                key_scope("console-make-payment", officer),
                key,
                fingerprint("POST", f"/console/loans/{loan_id}/payments", data),
                PaymentReceipt,
                pay,
            )
        except FormErrors as exc:
            errors = exc.errors
        except LoanClosed as exc:
            errors, status = {"amount": exc.detail}, HTTP_409_CONFLICT
        except PaymentRefused as exc:
            errors = {exc.field or "amount": exc.detail}
        else:
            return see_other(f"/console/loans/{loan_id}?paid={receipt.payment_id}")
        context = await loan_context(loans, loan_id, today)
        return page(
            "loan.html",
            officer,
            status_code=status,
            **context,
            paid=None,
            booked=None,
            form=form,
            errors=errors,
            idempotency_key=uuid.uuid4().hex,
        )
