"""HTTP: check a loan's eligibility, explain a customer's credit score.

Decisions and scores come from the underwriter (this module's `deps.py`), which reads the
customer's book through the loans module's face; nothing here writes.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from credit.http import BAD_REQUEST, NOT_FOUND, UNSUPPORTED_MEDIA_TYPE, CustomerIdPath, ok
from credit.lending.policy import slab_for
from credit.modules.credit.schemas import (
    CreditScoreReport,
    Eligibility,
)
from credit.modules.credit.underwriter import Underwriter
from credit.modules.loans.api import LoanApplication


class CreditController(Controller):
    path = "/api"
    tags = ["Credit"]
    # `underwriter` comes from this module's `deps.py`, with the app's policy and clock.

    @post(
        "/check-eligibility",
        status_code=HTTP_200_OK,
        operation_id="checkEligibility",
        summary="Would this loan be approved, and at what rate?",
        description="Scores the customer, applies the rate slabs, the affordability rule (all "
        "EMIs including this one within 50% of income) and the approved limit. Writes nothing.",
        responses={
            200: ok(Eligibility, "The decision, with the rate the slab needs."),
            **BAD_REQUEST,
            **NOT_FOUND,
            **UNSUPPORTED_MEDIA_TYPE,
        },
    )
    async def check_eligibility(
        self,
        data: JSONBody[LoanApplication],
        underwriter: NamedDependency[Underwriter],
    ) -> Eligibility:
        assessment = await underwriter.assess(data.customer_id, data.to_request())
        return Eligibility.of(data, assessment)

    @get(
        "/customers/{customer_id:int}/credit-score",
        operation_id="getCreditScore",
        summary="A customer's credit score, explained",
        description="The score with each component's measured value and the points it earned, "
        "the slab it falls in, and the date it was computed for.",
        responses={
            200: ok(CreditScoreReport, "The score and its parts."),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def credit_score(
        self,
        customer_id: CustomerIdPath,
        underwriter: NamedDependency[Underwriter],
    ) -> CreditScoreReport:
        score = await underwriter.score(customer_id)
        slab = slab_for(score.score, underwriter.policy)
        return CreditScoreReport.of(customer_id, score, slab, underwriter.today)
