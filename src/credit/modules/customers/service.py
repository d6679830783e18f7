"""Customers: registration (with the approved limit), look-ups by id, the booking lock.

The customers module's Advanced Alchemy service; other modules reach customers only through
it. Its statements are built once and run with bind parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import Table, bindparam, insert, select, update

from credit.db.database import Service
from credit.errors import Conflict, NotFound
from credit.lending.policy import CreditPolicy, approved_limit
from credit.modules.customers.models import Customer

# Re-exported: the console reads its register form into the same request.
from credit.modules.customers.schemas import RegisterCustomer as RegisterCustomer

CUSTOMERS = cast(Table, Customer.__table__)
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "age",
    "phone_number",
    "monthly_income",
    "approved_limit",
)

INSERT_CUSTOMER = (
    insert(CUSTOMERS)
    .values({name: bindparam(name) for name in (*PROFILE_FIELDS, "created_at", "updated_at")})
    .returning(CUSTOMERS.c.id)
)
CUSTOMER_BY_ID = select(CUSTOMERS.c.id, *(CUSTOMERS.c[name] for name in PROFILE_FIELDS)).where(
    CUSTOMERS.c.id == bindparam("customer_id")
)
# Holds the customer's row: a write of nothing new rather than `SELECT ... FOR UPDATE`, so that
# SQLite, which has no row locks, takes its database write lock here too, before the reads.
LOCK_CUSTOMER = (
    update(CUSTOMERS)
    .where(CUSTOMERS.c.id == bindparam("customer_id"))
    .values(booking_version=CUSTOMERS.c.booking_version, updated_at=CUSTOMERS.c.updated_at)
    .returning(CUSTOMERS.c.id)
)


class PhoneTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("A customer with this phone number is already registered.")


def customer_not_found(customer_id: int) -> NotFound:
    return NotFound(f"Customer {customer_id} not found.")


class CustomerRow(msgspec.Struct, frozen=True):
    id: int
    first_name: str
    last_name: str
    age: int
    phone_number: int
    monthly_income: Decimal
    approved_limit: Decimal


class CustomerService(Service[Customer]):
    class Repo(SQLAlchemyAsyncRepository[Customer]):
        model_type = Customer

    repository_type = Repo

    async def register(self, data: RegisterCustomer, policy: CreditPolicy) -> CustomerRow:
        income = Decimal(data.monthly_income)
        customer = CustomerRow(
            id=0,
            first_name=data.first_name.strip(),
            last_name=data.last_name.strip(),
            age=data.age,
            phone_number=data.phone_number,
            monthly_income=income,
            approved_limit=approved_limit(income, policy),
        )
        now = datetime.now(UTC)
        values = {name: getattr(customer, name) for name in PROFILE_FIELDS}
        values |= {"created_at": now, "updated_at": now}
        try:
            # One statement outside a transaction: committed when it returns, so a 201 means
            # the customer is stored.
            row = (await self.execute(INSERT_CUSTOMER, values)).one()
        except Conflict as exc:  # the unique phone index decides, also under races
            raise PhoneTaken from exc
        return msgspec.structs.replace(customer, id=row.id)

    async def get_customer(self, customer_id: int) -> CustomerRow:
        row = (await self.execute(CUSTOMER_BY_ID, {"customer_id": customer_id})).one_or_none()
        if row is None:
            raise customer_not_found(customer_id)
        return CustomerRow(**row._mapping)

    async def lock(self, customer_id: int) -> None:
        """Hold the customer's row until the transaction ends, serialising its bookings."""
        locked = await self.execute(LOCK_CUSTOMER, {"customer_id": customer_id})
        if locked.one_or_none() is None:
            raise customer_not_found(customer_id)
