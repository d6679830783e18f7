"""The Apply screen: an eligibility check (read scope, like `POST /api/check-eligibility`,
writing nothing, so its address with the figures can be bookmarked) showing the decision,
every reason, the corrected rate and the EMI; then, on confirmation, the booking (write scope,
like `POST /api/create-loan`) at the rate the policy accepts. The booking form carries an
`Idempotency-Key` made when the form was drawn, so a double click books once."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_422_UNPROCESSABLE_ENTITY

from credit.errors import NotFound
from credit.idempotency import fingerprint, key_scope
from credit.modules.console.forms import FormErrors, idempotency_key, read_form
from credit.modules.console.officer import Officer
from credit.modules.console.pages import page, see_other
from credit.modules.credit.api import Eligibility, Underwriter
from credit.modules.loans.api import (
    BookingDesk,
    CreatedLoan,
    LoanApplication,
)

APPLICATION_FIELDS = ("customer_id", "loan_amount", "interest_rate", "tenure")


class ApplyController(Controller):
    path = "/console/apply"

    @get("/", name="console:apply")
    async def apply(
        self,
        request: Request[Any, Any, Any],
        officer: NamedDependency[Officer],
        underwriter: NamedDependency[Underwriter],
    ) -> Response[Any]:
        form = {name: request.query_params.get(name, "") for name in APPLICATION_FIELDS}
        eligibility, errors, status = None, {}, HTTP_200_OK
        if any(form[name] for name in APPLICATION_FIELDS[1:]):
            try:
                application = read_form(form, LoanApplication, APPLICATION_FIELDS)
                loan_request = application.to_request()
                assessment = await underwriter.assess(application.customer_id, loan_request)
                eligibility = Eligibility.of(application, loan_request, assessment)
            except FormErrors as exc:
                errors, status = exc.errors, HTTP_422_UNPROCESSABLE_ENTITY
            except NotFound as exc:
                errors, status = {"customer_id": exc.detail}, 404
        return page(
            "apply.html",
            officer,
            status_code=status,
            form=form,
            errors=errors,
            eligibility=eligibility,
            booking=None,
            idempotency_key=uuid.uuid4().hex,
        )

    @post("/", name="console:book")
    async def book(
        self,
        request: Request[Any, Any, Any],
        officer: NamedDependency[Officer],
        bookings: NamedDependency[BookingDesk],
    ) -> Response[Any]:
        officer.require_write()
        form = dict(await request.form())
        try:
            application = read_form(form, LoanApplication, APPLICATION_FIELDS)
        except FormErrors as exc:
            return page(
                "apply.html",
                officer,
                status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                form=form,
                errors=exc.errors,
                eligibility=None,
                booking=None,
                idempotency_key=uuid.uuid4().hex,
            )
        key = idempotency_key(form)

        async def book() -> tuple[int, CreatedLoan]:
            booking = await bookings.book(
                application.customer_id, application.to_request(), officer.key_id
            )
            answer = CreatedLoan.of(application.customer_id, booking)
            return (HTTP_201_CREATED if booking.loan else HTTP_200_OK), answer

        _, answer = await bookings.writes.run(
            key_scope("console-create-loan", officer),
            key,
            fingerprint("POST", "/console/apply", application),
            CreatedLoan,
            book,
        )
        if answer.loan_id is not None:
            return see_other(f"/console/loans/{answer.loan_id}?booked={answer.decision_id}")
        return page(
            "apply.html",
            officer,
            form=form,
            errors={},
            eligibility=None,
            booking=answer,
            idempotency_key=uuid.uuid4().hex,
        )
