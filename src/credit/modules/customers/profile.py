"""HTTP: a customer's profile with their current loans; customers found by phone number or
name a page at a time; a change to a profile.

The customers' routes that answer with profiles; the figures are the customers' current
loans, read through the loans module's face (`loans.api`): one statement for a profile, two
for a page (the customers, then all their loans at once), whatever the page's size. The one
place the customers module reads the loans module (pyproject.toml, the layers contract).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.openapi.spec import Example
from litestar.params import JSONBody, Parameter

from credit.http import (
    BAD_REQUEST,
    MAX_ID,
    NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    CustomerIdPath,
    ok,
)
from credit.lending.classification import Classification
from credit.lending.policy import CreditPolicy
from credit.modules.customers.api import INVISIBLE, MAX_NAME_LENGTH
from credit.modules.customers.controller import PHONE_TAKEN
from credit.modules.customers.schemas import CustomerChanges
from credit.modules.customers.service import CustomerRow, CustomerService
from credit.modules.loans.api import CustomerLoans, LoanService, StoredLoan

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


def customer_loans(customer: CustomerRow, loans: list[StoredLoan]) -> CustomerLoans:
    """A customer as read by the customers module, with their current loans."""
    return CustomerLoans(
        customer_id=customer.id,
        first_name=customer.first_name,
        last_name=customer.last_name,
        age=customer.age,
        phone_number=customer.phone_number,
        monthly_income=customer.monthly_income,
        approved_limit=customer.approved_limit,
        loans=loans,
    )


class CustomerList(msgspec.Struct):
    items: list[CustomerProfile]
    next: Annotated[
        int | None,
        msgspec.Meta(
            description="Pass it as `after` for the next page; null on the last page.",
        ),
    ]

    example: ClassVar[dict[str, Any]] = {"items": [CustomerProfile.example], "next": None}


PhoneFilter = Annotated[
    int | None,
    Parameter(
        ge=1_000_000_000,
        le=9_999_999_999,
        description="Exactly this phone number (ten digits).",
        examples=[Example(value=9876543210)],
    ),
]
NameFilter = Annotated[
    str | None,
    Parameter(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        pattern=f"^[^{INVISIBLE}]+$",
        description="The start of the first or the last name, in any case (`sha` finds "
        "Sharma and Shanti).",
        examples=[Example(value="sha")],
    ),
]
Limit = Annotated[int, Parameter(ge=1, le=100, description="Customers per page (1-100).")]
After = Annotated[
    int | None,
    Parameter(
        ge=0,
        le=MAX_ID,
        description="The `next` of the page before: customers with a higher id.",
    ),
]


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

    @get(
        "/customers",
        operation_id="listCustomers",
        summary="Find customers by phone number or name",
        description="Profiles in customer-id order, a page at a time (`next` gives the next "
        "page's `after`). Filters: `phone_number` (exact) and `name` (the start of the first or "
        "the last name, any case). No match is `200` with no items.",
        responses={200: ok(CustomerList, "A page of customers."), **BAD_REQUEST},
    )
    async def list_customers(
        self,
        customers: NamedDependency[CustomerService],
        loans: NamedDependency[LoanService],
        phone_number: PhoneFilter = None,
        name: NameFilter = None,
        limit: Limit = 20,
        after: After = None,
    ) -> CustomerList:
        page = await customers.find(
            phone_number=phone_number, name=name, limit=limit, after=after or 0
        )
        current = await loans.current_loans_of([customer.id for customer in page.customers])
        items = [
            CustomerProfile.of(customer_loans(customer, current.get(customer.id, [])))
            for customer in page.customers
        ]
        return CustomerList(items=items, next=page.next)

    @patch(
        "/customers/{customer_id:int}",
        operation_id="updateCustomer",
        summary="Change a customer's details",
        description="Any of `first_name`, `last_name`, `age`, `phone_number` and "
        "`monthly_income`, under the register rules; the fields left out keep their values. "
        "A new monthly income gets a new approved limit by the register rule (36 x income, to "
        "the nearest lakh, ties up), for customers loaded from the files too. A phone number "
        "another customer holds: 409 naming them. An unknown field: 400.",
        responses={
            200: ok(CustomerProfile, "The customer's profile, changed."),
            **BAD_REQUEST,
            **NOT_FOUND,
            **PHONE_TAKEN,
            **UNSUPPORTED_MEDIA_TYPE,
        },
    )
    async def change(
        self,
        customer_id: CustomerIdPath,
        data: JSONBody[CustomerChanges],
        customers: NamedDependency[CustomerService],
        loans: NamedDependency[LoanService],
        policy: NamedDependency[CreditPolicy],
    ) -> CustomerProfile:
        customer = await customers.change(customer_id, data, policy)
        current = await loans.current_loans_of([customer.id])
        return CustomerProfile.of(customer_loans(customer, current.get(customer.id, [])))
