"""HTTP: check a loan's eligibility, explain a customer's credit score, show their profile.

The credit module owns the answers that combine a customer with their loans; it reads them
through the loans service (the customer's book and, for the profile, the customer with their
current loans in one statement), decisions and scores through the underwriter, and writes
nothing.
"""

from __future__ import annotations

from decimal import Decimal

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from credit.http import BAD_REQUEST, NOT_FOUND, UNSUPPORTED_MEDIA_TYPE, CustomerIdPath, ok
from credit.lending.policy import slab_for
from credit.modules.credit.schemas import (
    CREDIT_SCORE_EXAMPLE,
    ELIGIBILITY_EXAMPLE,
    PROFILE_EXAMPLE,
    CreditScoreReport,
    CustomerProfile,
    Eligibility,
    ScoreComponent,
)
from credit.modules.credit.underwriter import Underwriter
from credit.modules.loans.api import LoanApplication, LoanService, provide_loans

ZERO = Decimal(0)


class CreditController(Controller):
    path = "/api"
    tags = ["Credit"]
    # `underwriter` comes from the plugin, which holds the app's policy and clock.
    dependencies = {"loans": provide_loans}

    @post(
        "/check-eligibility",
        status_code=HTTP_200_OK,
        operation_id="checkEligibility",
        summary="Would this loan be approved, and at what rate?",
        description="Scores the customer, applies the rate slabs, the affordability rule (all "
        "EMIs including this one within 50% of income) and the approved limit. Writes nothing.",
        responses={
            200: ok(
                Eligibility, "The decision, with the rate the slab needs.", ELIGIBILITY_EXAMPLE
            ),
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
        decision = assessment.decision
        return Eligibility(
            customer_id=data.customer_id,
            approval=decision.approval,
            interest_rate=data.interest_rate,
            corrected_interest_rate=float(decision.corrected_interest_rate),
            tenure=data.tenure,
            monthly_installment=float(decision.monthly_installment),
            credit_score=assessment.score.score,
            message=decision.message,
        )

    @get(
        "/customers/{customer_id:int}/credit-score",
        operation_id="getCreditScore",
        summary="A customer's credit score, explained",
        description="The score with each component's measured value and the points it earned, "
        "the slab it falls in, and the date it was computed for.",
        responses={
            200: ok(CreditScoreReport, "The score and its parts.", CREDIT_SCORE_EXAMPLE),
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
        return CreditScoreReport(
            customer_id=customer_id,
            credit_score=score.score,
            components=[
                ScoreComponent(c.name, float(c.value), float(c.points), c.max_points)
                for c in score.components
            ],
            slab=slab_for(score.score, underwriter.policy).name,
            as_of=underwriter.today,
            over_limit=score.over_limit,
        )


class ProfileController(Controller):
    """The customer's profile: a customer with their loans, documented with the customers."""

    path = "/api"
    tags = ["Customers"]
    dependencies = {"loans": provide_loans}

    @get(
        "/customers/{customer_id:int}",
        operation_id="getCustomer",
        summary="A customer's profile",
        description="Profile with the approved limit, the outstanding principal of the current "
        "loans (after the installments settled: by the files as of loading, then by payments) "
        "and the sum of their current EMIs.",
        responses={
            200: ok(CustomerProfile, "The customer's profile.", PROFILE_EXAMPLE),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def profile(
        self, customer_id: CustomerIdPath, loans: NamedDependency[LoanService]
    ) -> CustomerProfile:
        book = await loans.customer_loans(customer_id)
        return CustomerProfile(
            customer_id=book.customer_id,
            first_name=book.first_name,
            last_name=book.last_name,
            age=book.age,
            phone_number=book.phone_number,
            monthly_income=float(book.monthly_income),
            approved_limit=float(book.approved_limit),
            current_debt=float(sum((loan.outstanding_principal() for loan in book.loans), ZERO)),
            current_emis=float(sum((loan.monthly_installment for loan in book.loans), ZERO)),
        )
