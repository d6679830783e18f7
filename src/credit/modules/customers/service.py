"""Customers: registration (with the approved limit) and look-ups by id."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import cast

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import ClientException, NotFoundException
from litestar.status_codes import HTTP_409_CONFLICT
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from credit.modules.credit.policy import CreditPolicy, approved_limit
from credit.modules.customers.models import Customer
from credit.modules.customers.schemas import RegisterCustomer

CUSTOMERS = cast(Table, Customer.__table__)
# Built once (per-request statement building is measurable CPU, docs/benchmarks.md); the
# write paths insert and lock with Core statements, since nothing needs the ORM object.
INSERT_CUSTOMER = insert(CUSTOMERS).returning(CUSTOMERS.c.id)
LOCK_CUSTOMER = (
    select(CUSTOMERS.c.id).where(CUSTOMERS.c.id == bindparam("customer_id")).with_for_update()
)


@dataclass(frozen=True, slots=True)
class RegisteredRow:
    id: int
    first_name: str
    last_name: str
    age: int
    phone_number: int
    monthly_income: Decimal
    approved_limit: Decimal


class CustomerService(SQLAlchemyAsyncRepositoryService[Customer]):
    class Repo(SQLAlchemyAsyncRepository[Customer]):
        model_type = Customer

    repository_type = Repo

    @property
    def _session(self) -> AsyncSession:
        session: AsyncSession = self.repository.session
        return session

    async def register(self, data: RegisterCustomer, policy: CreditPolicy) -> RegisteredRow:
        income = Decimal(data.monthly_income)
        row = RegisteredRow(
            id=0,
            first_name=data.first_name.strip(),
            last_name=data.last_name.strip(),
            age=data.age,
            phone_number=data.phone_number,
            monthly_income=income,
            approved_limit=approved_limit(income, policy),
        )
        values = {k: v for k, v in asdict(row).items() if k != "id"}
        try:
            customer_id = (await self._session.execute(INSERT_CUSTOMER, values)).scalar_one()
        except IntegrityError as exc:  # the unique phone index decides, also under races
            raise _phone_taken() from exc
        # Commit here, not in the after-response hook: a 201 must mean the customer is stored
        # (a failed commit then answers 503 instead of a 201 for nothing).
        await self._session.commit()
        return replace(row, id=customer_id)

    async def get_customer(self, customer_id: int) -> Customer:
        customer = await self._session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return customer

    async def lock(self, customer_id: int) -> int:
        """Hold the customer's row until commit, serialising its loan bookings."""
        locked = await self._session.scalar(LOCK_CUSTOMER, {"customer_id": customer_id})
        if locked is None:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return customer_id


def _phone_taken() -> ClientException:
    return ClientException(
        status_code=HTTP_409_CONFLICT,
        detail="A customer with this phone number is already registered.",
    )
