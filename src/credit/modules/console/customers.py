"""The Customers screen (find customers as you type a phone number, a name or an id; register
one) and a customer's page: the profile, the
credit score with each component as a bar, the current and closed loans, and the history of
applications with their reasons. Figures come from the same services and answers as the API's
(`GET /api/customers/{id}`, `/credit-score`, `/decisions`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.plugins.htmx import HTMXRequest
from litestar.status_codes import (
    HTTP_201_CREATED,
    HTTP_409_CONFLICT,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from credit.errors import NotFound
from credit.http import CustomerIdPath
from credit.idempotency import IdempotentWrites, fingerprint, key_scope
from credit.ids import MAX_ID
from credit.lending.policy import CreditPolicy, slab_for
from credit.lending.statement import standing
from credit.modules.console.charts import score_bars
from credit.modules.console.forms import FormErrors, idempotency_key, read_form
from credit.modules.console.officer import Officer
from credit.modules.console.pages import page, see_other
from credit.modules.credit.api import CreditScoreReport, DecisionList, Underwriter
from credit.modules.customers.api import MAX_NAME_LENGTH
from credit.modules.customers.service import (
    CustomerRow,
    CustomerService,
    PhoneTaken,
    RegisterCustomer,
)
from credit.modules.loans.api import DecisionService, LoanService

REGISTER_FIELDS = ("first_name", "last_name", "age", "monthly_income", "phone_number")
ZERO = Decimal("0.00")
PAGE = 20


@dataclass(frozen=True)
class Search:
    """What the officer typed: ten digits are a phone number, fewer a customer id, anything
    else the start of a first or last name (as `GET /api/customers` filters)."""

    text: str
    phone_number: int | None = None
    customer_id: int | None = None
    name: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, typed: str) -> Search:
        text = typed.strip()
        if not text:
            return cls(text)
        digits = text.replace(" ", "")
        if digits.isdigit():
            if len(digits) == 10 and digits[0] != "0":
                return cls(text, phone_number=int(digits))
            if len(digits) < 10 and 1 <= int(digits) <= MAX_ID:
                return cls(text, customer_id=int(digits))
            return cls(text, error="A phone number has 10 digits; a customer id fewer.")
        if len(text) > MAX_NAME_LENGTH:
            return cls(text, error=f"A name has at most {MAX_NAME_LENGTH} characters.")
        return cls(text, name=text)


class CustomersController(Controller):
    path = "/console/customers"

    @get("/", name="console:customers")
    async def customers(
        self,
        request: HTMXRequest,
        officer: NamedDependency[Officer],
        customers: NamedDependency[CustomerService],
        q: FromQuery[str | None] = None,
        after: FromQuery[int] = 0,
    ) -> Response[Any]:
        """Search as you type: htmx asks again 300 ms after the last key and swaps in the rows
        alone; without script the form submits the same query. Each search is an address."""
        search = Search.of(q or "")
        found: list[CustomerRow] = []
        more, error = None, search.error
        if search.customer_id is not None:
            try:
                found = [await customers.get_customer(search.customer_id)]
            except NotFound as exc:
                error = exc.detail
        elif search.phone_number is not None or search.name is not None:
            page_of = await customers.find(
                phone_number=search.phone_number,
                name=search.name,
                limit=PAGE,
                after=max(0, after),
            )
            found, more = page_of.customers, page_of.next
        context: dict[str, Any] = {
            "q": search.text,
            "found": found,
            "more": more,
            "searched": bool(search.text) and error is None,
            "search_error": error,
        }
        if request.htmx:
            return page("_customer_rows.html", officer, **context)
        return page(
            "customers.html",
            officer,
            **context,
            form={},
            errors={},
            idempotency_key=uuid.uuid4().hex,
        )

    @post("/", name="console:register")
    async def register(
        self,
        request: HTMXRequest,
        officer: NamedDependency[Officer],
        customers: NamedDependency[CustomerService],
        policy: NamedDependency[CreditPolicy],
    ) -> Response[Any]:
        officer.require_write()
        form = dict(await request.form())
        status = HTTP_422_UNPROCESSABLE_ENTITY
        try:
            data = read_form(form, RegisterCustomer, REGISTER_FIELDS)

            async def register() -> tuple[int, CustomerRow]:
                return HTTP_201_CREATED, await customers.register(data, policy)

            key = idempotency_key(form)
            try:
                _, registered = await IdempotentWrites(customers).run(
                    key_scope("console-register", officer),
                    key,
                    fingerprint("POST", "/console/customers", data),
                    CustomerRow,
                    register,
                )
            except PhoneTaken as exc:
                raise await customers.phone_taken(data.phone_number) from exc
        except FormErrors as exc:
            errors = exc.errors
        except PhoneTaken as exc:
            holder = (exc.extra or {}).get("customer_id")
            held_by = f" (customer {holder})" if holder else ""
            errors, status = {"phone_number": exc.detail + held_by}, HTTP_409_CONFLICT
        else:
            return see_other(f"/console/customers/{registered.id}?registered=1")
        return page(
            "customers.html",
            officer,
            status_code=status,
            q="",
            found=[],
            more=None,
            searched=False,
            search_error=None,
            form=form,
            errors=errors,
            idempotency_key=uuid.uuid4().hex,
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
