"""HTTP: check a loan's eligibility, explain a customer's credit score, show their profile.

The credit module owns the answers that combine a customer with their loans; it reads them
through the customers and loans services and writes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from credit.api import BAD_REQUEST, NOT_FOUND, UNSUPPORTED_MEDIA_TYPE, CustomerIdPath, ok
from credit.lending.amortization import outstanding_principal
from credit.lending.policy import CreditPolicy, slab_for
from credit.modules.credit.schemas import (
    CREDIT_SCORE_EXAMPLE,
    ELIGIBILITY_EXAMPLE,
    PROFILE_EXAMPLE,
    CreditScoreReport,
    CustomerProfile,
    Eligibility,
    ScoreComponent,
)
from credit.modules.customers.service import CustomerService, provide_customers
from credit.modules.loans.api import LoanApplication, LoanService, provide_loans


class CreditController(Controller):
    path = "/api"
    tags = ["Credit"]
    dependencies = {"loans": Provide(provide_loans), "customers": Provide(provide_customers)}

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
        loans: NamedDependency[LoanService],
        policy: NamedDependency[CreditPolicy],
        today: NamedDependency[date],
    ) -> Eligibility:
        assessment = await loans.assess(data.customer_id, data.to_request(), today, policy)
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
        loans: NamedDependency[LoanService],
        policy: NamedDependency[CreditPolicy],
        today: NamedDependency[date],
    ) -> CreditScoreReport:
        _, score = await loans.score(customer_id, today, policy)
        return CreditScoreReport(
            customer_id=customer_id,
            credit_score=score.score,
            components=[
                ScoreComponent(c.name, float(c.value), float(c.points), c.max_points)
                for c in score.components
            ],
            slab=slab_for(score.score, policy).name,
            as_of=today,
            over_limit=score.over_limit,
        )


class ProfileController(Controller):
    """The customer's profile: a customer with their loans, documented with the customers."""

    path = "/api"
    tags = ["Customers"]
    dependencies = CreditController.dependencies

    @get(
        "/customers/{customer_id:int}",
        operation_id="getCustomer",
        summary="A customer's profile",
        description="Profile with the approved limit, the outstanding principal of current loans "
        "after the installments already due, and the sum of their EMIs.",
        responses={
            200: ok(CustomerProfile, "The customer's profile.", PROFILE_EXAMPLE),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def profile(
        self,
        customer_id: CustomerIdPath,
        customers: NamedDependency[CustomerService],
        loans: NamedDependency[LoanService],
        today: NamedDependency[date],
    ) -> CustomerProfile:
        customer = await customers.get_customer(customer_id)
        current = await loans.current_loans(customer_id, today)
        debt = sum(
            (
                outstanding_principal(
                    loan.loan_amount, loan.interest_rate, loan.tenure, loan.start_date, today
                )
                for loan in current
            ),
            Decimal(0),
        )
        return CustomerProfile(
            customer_id=customer.id,
            first_name=customer.first_name,
            last_name=customer.last_name,
            age=customer.age,
            phone_number=customer.phone_number,
            monthly_income=float(customer.monthly_income),
            approved_limit=float(customer.approved_limit),
            current_debt=float(debt),
            current_emis=float(sum((loan.monthly_installment for loan in current), Decimal(0))),
        )
