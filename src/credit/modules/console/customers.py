"""The Customers screen (find one, register one) and a customer's page: the profile, the
credit score with each component as a bar, the current and closed loans, and the history of
applications with their reasons. Figures come from the same services and answers as the API's
(`GET /api/customers/{id}`, `/credit-score`, `/decisions`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from credit.errors import NotFound
from credit.http import CustomerIdPath
from credit.ids import MAX_ID
from credit.lending.policy import CreditPolicy, slab_for
from credit.lending.statement import standing
from credit.modules.console.charts import score_bars
from credit.modules.console.forms import FormErrors, read_form
from credit.modules.console.officer import Officer
from credit.modules.console.pages import page, see_other
from credit.modules.credit.api import CreditScoreReport, DecisionList, Underwriter
from credit.modules.customers.service import CustomerService, PhoneTaken, RegisterCustomer
from credit.modules.loans.api import DecisionService, LoanService

REGISTER_FIELDS = ("first_name", "last_name", "age", "monthly_income", "phone_number")
ZERO = Decimal("0.00")


class CustomersController(Controller):
    path = "/console/customers"

    @get("/", name="console:customers")
    async def customers(
        self,
        officer: NamedDependency[Officer],
        customers: NamedDependency[CustomerService],
        customer_id: FromQuery[str | None] = None,
    ) -> Response[Any]:
        found, error = [], None
        if customer_id is not None and customer_id.strip():
            wanted = customer_id.strip()
            if not wanted.isdigit() or not 1 <= int(wanted) <= MAX_ID:
                error = "A customer id is a whole number from 1."
            else:
                try:
                    found = [await customers.get_customer(int(wanted))]
                except NotFound as exc:
                    error = exc.detail
        return page(
            "customers.html",
            officer,
            customer_id=customer_id or "",
            found=found,
            search_error=error,
            form={},
            errors={},
        )

    @post("/", name="console:register")
    async def register(
        self,
        request: Request[Any, Any, Any],
        officer: NamedDependency[Officer],
        customers: NamedDependency[CustomerService],
        policy: NamedDependency[CreditPolicy],
    ) -> Response[Any]:
        officer.require_write()
        form = dict(await request.form())
        status = HTTP_422_UNPROCESSABLE_ENTITY
        try:
            data = read_form(form, RegisterCustomer, REGISTER_FIELDS)
            registered = await customers.register(data, policy)
        except FormErrors as exc:
            errors = exc.errors
        except PhoneTaken as exc:
            errors, status = {"phone_number": exc.detail}, HTTP_409_CONFLICT
        else:
            return see_other(f"/console/customers/{registered.id}?registered=1")
        return page(
            "customers.html",
            officer,
            status_code=status,
            customer_id="",
            found=[],
            search_error=None,
            form=form,
            errors=errors,
        )

    @get("/{customer_id:int}", name="console:customer")
    async def customer(
        self,
        customer_id: CustomerIdPath,
        officer: NamedDependency[Officer],
        loans: NamedDependency[LoanService],
        underwriter: NamedDependency[Underwriter],
        decisions: NamedDependency[DecisionService],
        registered: FromQuery[bool] = False,
        before: FromQuery[int | None] = None,
    ) -> Response[Any]:
        book = await loans.customer_loans(customer_id, closed_too=True)
        today = underwriter.today
        rows = [(loan.loan_id, loan.state, standing(loan.state, today)) for loan in book.loans]
        current = [row for row in rows if not row[1].closed]
        closed = [row for row in rows if row[1].closed]
        score = await underwriter.score(customer_id)
        report = CreditScoreReport.of(
            customer_id, score, slab_for(score.score, underwriter.policy), today
        )
        history = DecisionList.of(await decisions.of_customer(customer_id, 20, before))
        return page(
            "customer.html",
            officer,
            customer=book,
            current=current,
            closed=closed,
            current_debt=sum((state.outstanding_principal for _, state, _ in current), ZERO),
            current_emis=sum((state.monthly_installment for _, state, _ in current), ZERO),
            score=report,
            bars=score_bars(report.components),
            decisions=history,
            registered=registered,
            today=today,
        )
