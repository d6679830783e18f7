"""HTTP: a customer's profile, with their current loans.

The customer's route, documented with the customers; the figures are the customer's current
loans, read through the loans module's face (`loans.api`) in one statement. The one place the
customers module reads the loans module (pyproject.toml, the layers contract).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from credit.http import BAD_REQUEST, NOT_FOUND, CustomerIdPath, ok
from credit.lending.classification import Classification
from credit.modules.loans.api import CustomerLoans, LoanService

ZERO = Decimal("0.00")


Rupees = Annotated[Decimal, msgspec.Meta(description="Rupees, to the paisa.")]


class CustomerProfile(msgspec.Struct):
    customer_id: int
    first_name: str
    last_name: str
    age: int
    phone_number: int
    monthly_income: Annotated[int, msgspec.Meta(description="Rupees a month.")]
    approved_limit: Annotated[int, msgspec.Meta(description="Rupees.")]
    current_debt: Annotated[
        Rupees, msgspec.Meta(description="The current loans' outstanding principal.")
    ]
    current_emis: Annotated[Rupees, msgspec.Meta(description="The current loans' EMIs.")]
    classification: Annotated[
        Classification | None,
        msgspec.Meta(
            description="The worst of the customer's loans' classifications at the latest close "
            "of day (`standard` with none); null before the first close."
        ),
    ] = None

    example: ClassVar[dict[str, Any]] = {
        "customer_id": 301,
        "first_name": "Aarav",
        "last_name": "Sharma",
        "age": 34,
        "phone_number": 9876543210,
        "monthly_income": 75000,
        "approved_limit": 2700000,
        "current_debt": 481186.98,
        "current_emis": 23188.02,
        "classification": "standard",
    }

    @classmethod
    def of(cls, book: CustomerLoans) -> CustomerProfile:
        """The sums are over the loans' states: the same `B` and `e` that view-loan,
        view-loans and the statements show."""
        return cls(
            customer_id=book.customer_id,
            first_name=book.first_name,
            last_name=book.last_name,
            age=book.age,
            phone_number=book.phone_number,
            monthly_income=int(book.monthly_income),
            approved_limit=int(book.approved_limit),
            current_debt=sum((loan.state.outstanding_principal for loan in book.loans), ZERO),
            current_emis=sum((loan.state.monthly_installment for loan in book.loans), ZERO),
            classification=book.classification,
        )


class ProfileController(Controller):
    path = "/api"
    tags = ["Customers"]

    @get(
        "/customers/{customer_id:int}",
        operation_id="getCustomer",
        summary="A customer's profile",
        description="Profile with the approved limit, the outstanding principal of the current "
        "loans (after the installments settled: by the files as of loading, then by payments) "
        "and the sum of their current EMIs.",
        responses={
            200: ok(CustomerProfile, "The customer's profile."),
            **BAD_REQUEST,
            **NOT_FOUND,
        },
    )
    async def profile(
        self, customer_id: CustomerIdPath, loans: NamedDependency[LoanService]
    ) -> CustomerProfile:
        return CustomerProfile.of(await loans.customer_loans(customer_id))
