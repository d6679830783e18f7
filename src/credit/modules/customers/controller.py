"""HTTP: register a customer and read a customer's profile."""

from __future__ import annotations

from decimal import Decimal

from litestar import Controller, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from credit.api import (
    BAD_REQUEST,
    NOT_FOUND,
    UNSUPPORTED_MEDIA_TYPE,
    AnyRequest,
    CustomerIdPath,
    error,
    ok,
)
from credit.lending.amortization import outstanding_principal
from credit.modules.customers.schemas import (
    PROFILE_EXAMPLE,
    REGISTERED_EXAMPLE,
    CustomerProfile,
    RegisterCustomer,
    RegisteredCustomer,
)
from credit.services import services


class CustomerController(Controller):
    path = "/api"
    tags = ["Customers"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        operation_id="registerCustomer",
        summary="Register a customer",
        description="Creates a customer with an approved limit of 36 x monthly income, rounded to "
        "the nearest lakh (ties up). A phone number already registered gives 409.",
        responses={
            201: ok(RegisteredCustomer, "The customer, registered.", REGISTERED_EXAMPLE),
            **BAD_REQUEST,
            409: error("The phone number is already registered.", 409),
            **UNSUPPORTED_MEDIA_TYPE,
        },
    )
    async def register(
        self,
        data: JSONBody[RegisterCustomer],
        request: AnyRequest,
    ) -> RegisteredCustomer:
        lender = services(request)
        customer = await lender.customers.register(data, lender.policy)
        return RegisteredCustomer(
            customer_id=customer.id,
            name=f"{customer.first_name} {customer.last_name}",
            age=customer.age,
            monthly_income=int(customer.monthly_income),
            approved_limit=int(customer.approved_limit),
            phone_number=customer.phone_number,
        )

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
        request: AnyRequest,
    ) -> CustomerProfile:
        lender = services(request)
        today = lender.today()
        customer = await lender.customers.get_customer(customer_id)
        current = await lender.loans.current_loans(customer_id, today)
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
