"""HTTP: register a customer."""

from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from credit.http import BAD_REQUEST, UNSUPPORTED_MEDIA_TYPE, error, ok
from credit.lending.policy import CreditPolicy
from credit.modules.customers.schemas import (
    RegisterCustomer,
    RegisteredCustomer,
)
from credit.modules.customers.service import CustomerService


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
            201: ok(RegisteredCustomer, "The customer, registered."),
            **BAD_REQUEST,
            409: error("The phone number is already registered.", 409),
            **UNSUPPORTED_MEDIA_TYPE,
        },
    )
    async def register(
        self,
        data: JSONBody[RegisterCustomer],
        customers: NamedDependency[CustomerService],
        policy: NamedDependency[CreditPolicy],
    ) -> RegisteredCustomer:
        return RegisteredCustomer.of(await customers.register(data, policy))
