"""Requests and responses of the customers endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import msgspec

from credit.modules.customers.api import MAX_NAME_LENGTH, NAME_PATTERN

if TYPE_CHECKING:
    from credit.modules.customers.service import CustomerRow

Name = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        pattern=NAME_PATTERN,
        description="Not blank: at least one visible character; no control, zero-width or "
        "line-break characters.",
        examples=["Aarav"],
    ),
]
PhoneNumber = Annotated[
    int,
    msgspec.Meta(
        ge=1_000_000_000, le=9_999_999_999, description="Ten digits.", examples=[9876543210]
    ),
]
Age = Annotated[int, msgspec.Meta(ge=18, le=120, examples=[34])]
MonthlyIncome = Annotated[
    int, msgspec.Meta(gt=0, le=1_000_000_000, description="Rupees a month.", examples=[75000])
]


class RegisterCustomer(msgspec.Struct, forbid_unknown_fields=False):
    first_name: Name
    last_name: Name
    age: Age
    monthly_income: MonthlyIncome
    phone_number: PhoneNumber


class CustomerChanges(msgspec.Struct, forbid_unknown_fields=True):
    """`PATCH /api/customers/{id}`: any of the register fields, under the same rules; the
    fields left out keep their values. An unknown field is refused (400)."""

    first_name: Name | msgspec.UnsetType = msgspec.UNSET
    last_name: Name | msgspec.UnsetType = msgspec.UNSET
    age: Age | msgspec.UnsetType = msgspec.UNSET
    monthly_income: MonthlyIncome | msgspec.UnsetType = msgspec.UNSET
    phone_number: PhoneNumber | msgspec.UnsetType = msgspec.UNSET


class RegisteredCustomer(msgspec.Struct):
    customer_id: int
    name: str
    age: int
    monthly_income: int
    approved_limit: int
    phone_number: int

    example: ClassVar[dict[str, Any]] = {
        "customer_id": 301,
        "name": "Aarav Sharma",
        "age": 34,
        "monthly_income": 75000,
        "approved_limit": 2700000,
        "phone_number": 9876543210,
    }

    @classmethod
    def of(cls, customer: CustomerRow) -> RegisteredCustomer:
        return cls(
            customer_id=customer.id,
            name=f"{customer.first_name} {customer.last_name}",
            age=customer.age,
            monthly_income=int(customer.monthly_income),
            approved_limit=int(customer.approved_limit),
            phone_number=customer.phone_number,
        )
