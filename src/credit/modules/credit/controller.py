"""HTTP: check a loan's eligibility, explain a customer's credit score.

Decisions and scores come from the underwriter (this module's `deps.py`), which reads the
customer's book through the loans module's face; application records (which create-loan
writes) through the loans module's decision service. Nothing here writes.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK

from credit.http import (
    BAD_REQUEST,
    NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    CustomerIdPath,
    error,
    ok,
    only_query,
)
from credit.ids import MAX_ID
from credit.lending.policy import slab_for
from credit.modules.credit.schemas import (
    CreditScoreReport,
    DecisionList,
    DecisionReport,
    Eligibility,
)
from credit.modules.credit.underwriter import Underwriter
from credit.modules.loans.api import DecisionService, LoanApplication


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
        request = data.to_request()
        assessment = await underwriter.assess(data.customer_id, request)
        return Eligibility.of(data, request, assessment)

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


DecisionIdPath = Annotated[
    int,
    Parameter(ge=1, le=MAX_ID, description="The decision's id.", examples=[Example(value=812)]),
]
PageSize = Annotated[
    int, Parameter(ge=1, le=100, description="Decisions per page (1-100).", required=False)
]
Before = Annotated[
    int | None,
    Parameter(
        ge=1,
        le=MAX_ID,
        description="Only decisions older than this `decision_id` (the previous page's `next`).",
        required=False,
    ),
]


class DecisionController(Controller):
    """Application records: every create-loan answer, approved or refused, as it was decided.
    They are read here through the loans module's decision service; create-loan writes them,
    and nothing changes them."""

    path = "/api"
    tags = ["Credit"]

    @get(
        "/decisions/{decision_id:int}",
        operation_id="getDecision",
        summary="One application's record",
        description="The request, the score with its components, every reason in policy "
        "order, the policy's numbers in force and the API key that applied.",
        responses={
            200: ok(DecisionReport, "The record."),
            **BAD_REQUEST,
            404: error("No such decision.", 404),
        },
    )
    async def decision(
        self, decision_id: DecisionIdPath, decisions: NamedDependency[DecisionService]
    ) -> DecisionReport:
        return DecisionReport.of(await decisions.decision(decision_id))

    @get(
        "/customers/{customer_id:int}/decisions",
        operation_id="listCustomerDecisions",
        summary="A customer's application records, newest first",
        description="Paged by `limit` and `before` (keyset: pass the previous page's `next`); "
        "another query parameter is 400.",
        guards=[only_query("limit", "before")],
        responses={
            200: ok(DecisionList, "A page of records."),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def customer_decisions(
        self,
        customer_id: CustomerIdPath,
        decisions: NamedDependency[DecisionService],
        limit: PageSize = 20,
        before: Before = None,
    ) -> DecisionList:
        return DecisionList.of(await decisions.of_customer(customer_id, limit, before))
