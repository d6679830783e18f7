"""HTTP: a customer's profile, with their current loans.

The customer's route, documented with the customers; the figures are the customer's current
loans, read through the loans module's face (`loans.api`) in one statement. The one place the
customers module reads the loans module (pyproject.toml, the layers contract).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency

from credit.http import BAD_REQUEST, NOT_FOUND, CustomerIdPath, ok
from credit.modules.loans.api import CustomerLoans, LoanService

ZERO = Decimal(0)


class CustomerProfile(msgspec.Struct):
    customer_id: int
    first_name: str
    last_name: str
    age: int
    phone_number: int
    monthly_income: float
    approved_limit: float
    current_debt: float
    current_emis: float

    example: ClassVar[dict[str, Any]] = {
        "customer_id": 301,
        "first_name": "Aarav",
        "last_name": "Sharma",
        "age": 34,
        "phone_number": 9876543210,
        "monthly_income": 75000.0,
        "approved_limit": 2700000.0,
        "current_debt": 481186.98,
        "current_emis": 23188.02,
    }

    @classmethod
    def of(cls, book: CustomerLoans) -> CustomerProfile:
        return cls(
            customer_id=book.customer_id,
            first_name=book.first_name,
            last_name=book.last_name,
            age=book.age,
            phone_number=book.phone_number,
            monthly_income=float(book.monthly_income),
            approved_limit=float(book.approved_limit),
            current_debt=float(sum((loan.balance() for loan in book.loans), ZERO)),
            current_emis=float(sum((loan.emi for loan in book.loans), ZERO)),
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
