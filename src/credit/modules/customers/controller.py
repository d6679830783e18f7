"""HTTP: register a customer (safe to retry with an `Idempotency-Key`)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import JSONBody
from litestar.status_codes import HTTP_201_CREATED

from credit.http import BAD_REQUEST, UNSUPPORTED_MEDIA_TYPE, ApiError, ok
from credit.idempotency import (
    IdempotencyKeyHeader,
    IdempotentWrites,
    fingerprint,
    key_scope,
)
from credit.lending.policy import CreditPolicy
from credit.modules.customers.schemas import (
    RegisterCustomer,
    RegisteredCustomer,
)
from credit.modules.customers.service import CustomerService, PhoneTaken

PHONE_TAKEN_EXAMPLE = {
    "status_code": 409,
    "detail": "A customer with this phone number is already registered.",
    "extra": {"customer_id": 301},
}
PHONE_TAKEN = {
    409: ResponseSpec(
        data_container=ApiError,
        description="The phone number is another customer's; `extra.customer_id` names them. "
        "Nothing is written.",
        generate_examples=False,
        examples=[Example(summary="phone_number_taken", value=PHONE_TAKEN_EXAMPLE)],
    )
}
KEY_REUSED = {
    422: ResponseSpec(
        data_container=ApiError,
        description="The Idempotency-Key was already used with a different request; nothing "
        "is written.",
        generate_examples=False,
        examples=[
            Example(
                summary="key_reused_with_another_request",
                value={
                    "status_code": 422,
                    "detail": "This Idempotency-Key was already used with a different "
                    "request; use a new key.",
                    "extra": [
                        {
                            "key": "Idempotency-Key",
                            "message": "This Idempotency-Key was already used with a "
                            "different request; use a new key.",
                            "source": "header",
                        }
                    ],
                },
            )
        ],
    )
}


class CustomerController(Controller):
    path = "/api"
    tags = ["Customers"]

    @post(
        "/register",
        status_code=HTTP_201_CREATED,
        operation_id="registerCustomer",
        summary="Register a customer",
        description="Creates a customer with an approved limit of 36 x monthly income, rounded to "
        "the nearest lakh (ties up). A phone number already registered gives 409 naming its "
        "holder. With an `Idempotency-Key`, a retry gets the first answer (the same customer) "
        "and writes nothing.",
        responses={
            201: ok(RegisteredCustomer, "The customer, registered."),
            **BAD_REQUEST,
            **PHONE_TAKEN,
            **UNSUPPORTED_MEDIA_TYPE,
            **KEY_REUSED,
        },
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[RegisterCustomer],
        customers: NamedDependency[CustomerService],
        policy: NamedDependency[CreditPolicy],
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> Response[RegisteredCustomer]:
        async def register() -> tuple[int, RegisteredCustomer]:
            return HTTP_201_CREATED, RegisteredCustomer.of(await customers.register(data, policy))

        try:
            status, answer = await IdempotentWrites(customers).run(
                key_scope("register", request.scope.get("auth")),
                idempotency_key,
                fingerprint(request.method, request.url.path, data),
                RegisteredCustomer,
                register,
            )
        except PhoneTaken as exc:
            raise await customers.phone_taken(data.phone_number) from exc
        return Response(answer, status_code=status)
