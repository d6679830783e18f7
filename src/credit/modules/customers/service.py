"""Customers: registration (with the approved limit) and look-ups by id."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import cast

import msgspec
from litestar.exceptions import ClientException, NotFoundException
from litestar.status_codes import HTTP_409_CONFLICT
from sqlalchemy import Table, bindparam, insert, select, update

from credit.lending.policy import CreditPolicy, approved_limit
from credit.modules.customers.models import Customer
from credit.modules.customers.schemas import RegisterCustomer
from credit.plugins.sql import Conflict, Database

CUSTOMERS = cast(Table, Customer.__table__)
PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "age",
    "phone_number",
    "monthly_income",
    "approved_limit",
)

# Statements are built once (building one per request is measurable CPU, docs/benchmarks.md)
# and run with bind parameters; nothing on these paths needs an ORM object.
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


class CustomerRow(msgspec.Struct, frozen=True):
    id: int
    first_name: str
    last_name: str
    age: int
    phone_number: int
    monthly_income: Decimal
    approved_limit: Decimal


class CustomerService:
    def __init__(self, database: Database) -> None:
        self.database = database

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
            # One committed statement: a 201 means the customer is stored.
            row = await self.database.row(INSERT_CUSTOMER, values)
        except Conflict as exc:  # the unique phone index decides, also under races
            raise _phone_taken() from exc
        assert row is not None  # INSERT ... RETURNING gives the new row
        return msgspec.structs.replace(customer, id=row[0])

    async def get_customer(self, customer_id: int) -> CustomerRow:
        row = await self.database.row(CUSTOMER_BY_ID, {"customer_id": customer_id})
        if row is None:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return CustomerRow(*row)

    async def lock(self, customer_id: int) -> int:
        """Hold the customer's row until the transaction ends, serialising its bookings."""
        if await self.database.row(LOCK_CUSTOMER, {"customer_id": customer_id}) is None:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return customer_id


def _phone_taken() -> ClientException:
    return ClientException(
        status_code=HTTP_409_CONFLICT,
        detail="A customer with this phone number is already registered.",
    )
