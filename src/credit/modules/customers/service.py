"""Customers: registration (with the approved limit), changes to a profile, look-ups by id,
phone number or name (a page at a time), the booking lock.

The customers module's Advanced Alchemy service; other modules reach customers only through
it. Its statements are built once (per database dialect where they differ) and run with bind
parameters. A name is searched by prefix on `lower(name)` as a range (`>= prefix` and `<` the
prefix with its last character raised), which the expression indexes of migration 0009 serve
on both databases; on PostgreSQL under the "C" collation (code point order, as SQLite's), so
that every name with the prefix, and only those, lies in the range. SQLite's `lower` folds
ASCII letters only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, cast

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)

from credit.db.database import Service
from credit.errors import Conflict, NotFound
from credit.lending.policy import CreditPolicy, approved_limit
from credit.modules.customers.models import Customer
from credit.modules.customers.schemas import CustomerChanges

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


HOLDER_OF_PHONE = select(CUSTOMERS.c.id).where(CUSTOMERS.c.phone_number == bindparam("phone"))
# A change to a profile: each field the request left out keeps its value (NULL binds), in one
# statement built once. The booking version is raised, as a booking does: a loan decided on
# the income before the change cannot be booked after it (`credit.modules.loans.booking`).
CHANGED = {name: bindparam(f"new_{name}", type_=CUSTOMERS.c[name].type) for name in PROFILE_FIELDS}
UPDATE_CUSTOMER = (
    update(CUSTOMERS)
    .where(CUSTOMERS.c.id == bindparam("customer_id"))
    .values(
        {name: func.coalesce(CHANGED[name], CUSTOMERS.c[name]) for name in PROFILE_FIELDS}
        | {
            "booking_version": CUSTOMERS.c.booking_version + 1,
            "updated_at": bindparam("now", type_=CUSTOMERS.c.updated_at.type),
        }
    )
    .returning(CUSTOMERS.c.id, *(CUSTOMERS.c[name] for name in PROFILE_FIELDS))
)


class PhoneTaken(Conflict):
    """The phone number is another customer's: `extra` names them when known."""

    def __init__(self, holder: int | None = None) -> None:
        super().__init__(
            "A customer with this phone number is already registered.",
            None if holder is None else {"customer_id": holder},
        )


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


class CustomerPage(msgspec.Struct, frozen=True):
    customers: list[CustomerRow]
    next: int | None


ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def name_key(column: Any, dialect: str) -> Any:
    """`lower(column)`, under the "C" collation on PostgreSQL (as the indexes are)."""
    lowered = func.lower(column)
    return lowered.collate("C") if dialect == "postgresql" else lowered


def prefix_end(prefix: str) -> str:
    """The least string above every string that starts with `prefix`: its last character
    raised by one code point (surrogates, which no text holds, skipped)."""
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:
        last = 0xE000
    if last > 0x10FFFF:  # nothing follows: the range ends where the shorter prefix's does
        return prefix_end(prefix[:-1]) if len(prefix) > 1 else "\U0010ffff" * 101
    return prefix[:-1] + chr(last)


@lru_cache(maxsize=16)
def find_statement(dialect: str, by_phone: bool, by_name: bool) -> Any:
    """A page of customers in id order after `after` (bind), `limit` + 1 rows (the extra one
    says whether there is a next page), filtered by phone number and name prefix."""
    after = bindparam("after", type_=BigInteger)
    # SQLite's planner would walk the primary key for `id > after` and test every row; with
    # a filter, `id + 0` leaves it the filter's indexes (PostgreSQL weighs both itself).
    filtered = by_phone or by_name
    key = CUSTOMERS.c.id + 0 if filtered and dialect == "sqlite" else CUSTOMERS.c.id
    where: list[ColumnElement[bool]] = [key > after]
    if by_phone:
        where.append(CUSTOMERS.c.phone_number == bindparam("phone", type_=BigInteger))
    if by_name:
        low: Any = bindparam("name_low", type_=String())
        high: Any = bindparam("name_high", type_=String())
        first = name_key(CUSTOMERS.c.first_name, dialect)
        last = name_key(CUSTOMERS.c.last_name, dialect)
        where.append(
            or_(and_(first >= low, first < high), and_(last >= low, last < high)),
        )
    return (
        select(CUSTOMERS.c.id, *(CUSTOMERS.c[name] for name in PROFILE_FIELDS))
        .where(*where)
        .order_by(CUSTOMERS.c.id)
        .limit(bindparam("rows", type_=Integer))
    )


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

    async def phone_taken(self, phone_number: int) -> PhoneTaken:
        """The refusal for a phone number another customer holds, naming that customer. Run
        after the refused write (outside its transaction, which the refusal ended)."""
        holder = (await self.execute(HOLDER_OF_PHONE, {"phone": phone_number})).scalar()
        return PhoneTaken(holder)

    async def change(
        self, customer_id: int, changes: CustomerChanges, policy: CreditPolicy
    ) -> CustomerRow:
        """Apply the fields given; a new monthly income gets the approved limit the register
        rule gives it. A phone number another customer holds: `PhoneTaken`."""
        given = {
            name: value
            for name in CustomerChanges.__struct_fields__
            if (value := getattr(changes, name)) is not msgspec.UNSET
        }
        for name in ("first_name", "last_name"):
            if name in given:
                given[name] = given[name].strip()
        if "monthly_income" in given:
            given["monthly_income"] = Decimal(given["monthly_income"])
            given["approved_limit"] = approved_limit(given["monthly_income"], policy)
        params: dict[str, Any] = {f"new_{name}": given.get(name) for name in PROFILE_FIELDS}
        params |= {"customer_id": customer_id, "now": datetime.now(UTC)}
        try:
            row = (await self.execute(UPDATE_CUSTOMER, params)).one_or_none()
        except Conflict as exc:
            raise await self.phone_taken(given["phone_number"]) from exc
        if row is None:
            raise customer_not_found(customer_id)
        return CustomerRow(**row._mapping)

    async def find(
        self, *, phone_number: int | None, name: str | None, limit: int, after: int
    ) -> CustomerPage:
        """A page of customers (one statement), `next` the last one's id when more follow."""
        dialect: str = self.repository._dialect.name
        statement = find_statement(dialect, phone_number is not None, name is not None)
        params: dict[str, Any] = {"after": after, "rows": limit + 1, "phone": phone_number}
        if name is not None:
            # As the database folds case: SQLite's `lower` folds ASCII letters only.
            prefix = name.lower() if dialect == "postgresql" else name.translate(ASCII_LOWER)
            params |= {"name_low": prefix, "name_high": prefix_end(prefix)}
        rows = (await self.execute(statement, params)).all()
        customers = [CustomerRow(**row._mapping) for row in rows[:limit]]
        more = len(rows) > limit
        return CustomerPage(customers, customers[-1].id if more else None)

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
