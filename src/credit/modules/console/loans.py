"""A loan's page: the statement (with the classification at the latest close), the schedule with
its settled installments marked, a chart of the balance over the installments, the loan's
classification history, and the forms that record a payment and reverse the latest one with
a reason (write scope, each with an `Idempotency-Key` made when the form was drawn). The
figures are the API's answers (`view-loan`, `view-statement`, `/schedule`,
`/classification-history`) from the same services."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT

from credit.errors import Conflict, NotFound
from credit.http import LoanIdPath
from credit.idempotency import fingerprint, key_scope
from credit.lending.servicing import LoanClosed, PaymentRefused
from credit.lending.statement import loan_plan
from credit.modules.console.charts import line_chart
from credit.modules.console.forms import FormErrors, idempotency_key, read_form
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
    ReversalRequest,
    statement_of,
)
from credit.modules.portfolio.api import ClassificationPeriod
from credit.modules.portfolio.service import PortfolioService

PAYMENT_FIELDS = ("amount", "paid_on")


async def loan_context(
    loans: LoanService, portfolio: PortfolioService, loan_id: int, today: date
) -> dict[str, Any]:
    detail = LoanDetail.of(await loans.loan_with_customer(loan_id), today)
    ledger = await loans.ledger(loan_id)
    statement = statement_of(ledger, today)
    plan = loan_plan(ledger.state, ledger.loaded, ledger.payments)
    schedule = LoanSchedule.of(ledger.loan_id, ledger.state, ledger.recorded_emi, plan)
    terms = ledger.state.terms
    chart = line_chart(
        [(i.due_date, i.balance, i.settled_by is not None) for i in schedule.installments],
        start=(terms.start_date, terms.loan_amount),
    )
    standing = [p for p in statement.payments if not p.reversed]
    history = [
        ClassificationPeriod(row["classification"], row["from_date"], row["to_date"])
        for row in await portfolio.history(loan_id)
    ]
    return {
        "loan": detail,
        "latest_payment": standing[-1] if standing else None,
        "history": history,
        "statement": statement,
        "schedule": schedule,
        "chart": chart,
        "amount_due": ledger.state.amount_due,
        "start_date": terms.start_date,
        "today": today,
    }


def loan_page(
    officer: Officer,
    context: dict[str, Any],
    status: int = 200,
    *,
    paid: int | None = None,
    booked: int | None = None,
    reversed: int | None = None,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> Template:
    """The loan's page: what was just done (paid, booked, reversed), or a refused form with
    the API's messages; a fresh idempotency key for the next write."""
    return page(
        "loan.html",
        officer,
        status_code=status,
        **context,
        paid=paid,
        booked=booked,
        reversed=reversed,
        form=form or {},
        errors=errors or {},
        idempotency_key=uuid.uuid4().hex,
    )


class LoanPagesController(Controller):
    path = "/console/loans"

    @get("/{loan_id:int}", name="console:loan")
    async def loan(
        self,
        loan_id: LoanIdPath,
        officer: NamedDependency[Officer],
        loans: NamedDependency[LoanService],
        portfolio_service: NamedDependency[PortfolioService],
        today: NamedDependency[date],
        paid: FromQuery[int | None] = None,
        booked: FromQuery[int | None] = None,
        reversed: FromQuery[int | None] = None,
    ) -> Response[Any]:
        context = await loan_context(loans, portfolio_service, loan_id, today)
        return loan_page(officer, context, paid=paid, booked=booked, reversed=reversed)

    @post("/{loan_id:int}/payments", name="console:pay")
    async def pay(
        self,
        request: Request[Any, Any, Any],
        loan_id: LoanIdPath,
        officer: NamedDependency[Officer],
        loans: NamedDependency[LoanService],
        portfolio_service: NamedDependency[PortfolioService],
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

            key = idempotency_key(form)
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
        return await self._refused(
            loans, portfolio_service, officer, loan_id, today, form, errors, status
        )

    async def _refused(
        self,
        loans: LoanService,
        portfolio: PortfolioService,
        officer: Officer,
        loan_id: int,
        today: date,
        form: dict[str, Any],
        errors: dict[str, str],
        status: int,
    ) -> Response[Any]:
        """The loan's page again, with the refused form and the API's message beside it."""
        context = await loan_context(loans, portfolio, loan_id, today)
        return loan_page(officer, context, status, form=form, errors=errors)

    @post("/{loan_id:int}/reversals", name="console:reverse")
    async def reverse(
        self,
        request: Request[Any, Any, Any],
        loan_id: LoanIdPath,
        officer: NamedDependency[Officer],
        loans: NamedDependency[LoanService],
        portfolio_service: NamedDependency[PortfolioService],
        payments: NamedDependency[PaymentDesk],
        today: NamedDependency[date],
    ) -> Response[Any]:
        """Reverse the loan's latest standing payment (it bounced), with the reason."""
        officer.require_write()
        form = dict(await request.form())
        status = 422
        try:
            data = read_form(form, ReversalRequest, ("reason",))
            payment_id = int(str(form.get("payment_id") or "0"))
            customer_id = (await loans.ledger(loan_id)).customer_id

            async def reverse() -> tuple[int, LoanStatement]:
                ledger = await payments.reverse(customer_id, loan_id, payment_id, data.reason)
                return HTTP_200_OK, statement_of(ledger, payments.today)

            key = idempotency_key(form)
            await payments.writes.run(
                key_scope("console-reverse-payment", officer),
                key,
                fingerprint("POST", f"/console/loans/{loan_id}/reversals/{payment_id}", data),
                LoanStatement,
                reverse,
            )
        except FormErrors as exc:
            errors = exc.errors
        except (Conflict, NotFound) as exc:
            errors = {"reason": exc.detail}
            status = HTTP_409_CONFLICT if isinstance(exc, Conflict) else 404
        else:
            return see_other(f"/console/loans/{loan_id}?reversed={payment_id}")
        reversal = {"reason": str(form.get("reason") or "")}
        return await self._refused(
            loans, portfolio_service, officer, loan_id, today, reversal, errors, status
        )
