"""Customers: registration (with the approved limit) and look-ups by id."""

from __future__ import annotations

from decimal import Decimal

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.exceptions import ClientException, NotFoundException
from litestar.status_codes import HTTP_409_CONFLICT
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.exc import IntegrityError

from credit.modules.credit.policy import CreditPolicy, approved_limit
from credit.modules.customers.models import Customer
from credit.modules.customers.schemas import RegisterCustomer


class CustomerService(SQLAlchemyAsyncRepositoryService[Customer]):
    class Repo(SQLAlchemyAsyncRepository[Customer]):
        model_type = Customer

    repository_type = Repo

    @property
    def _session(self) -> AsyncSession:
        session: AsyncSession = self.repository.session
        return session

    async def register(self, data: RegisterCustomer, policy: CreditPolicy) -> Customer:
        income = Decimal(data.monthly_income)
        customer = Customer(
            first_name=data.first_name.strip(),
            last_name=data.last_name.strip(),
            age=data.age,
            phone_number=data.phone_number,
            monthly_income=income,
            approved_limit=approved_limit(income, policy),
        )
        session = self._session
        session.add(customer)
        try:
            await session.flush()
        except IntegrityError as exc:  # the unique phone index decides, also under races
            raise _phone_taken() from exc
        return customer

    async def get_customer(self, customer_id: int) -> Customer:
        customer = await self._session.get(Customer, customer_id)
        if customer is None:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return customer

    async def lock(self, customer_id: int) -> Customer:
        """Load the customer and hold its row until commit, serialising its loan bookings."""
        stmt = select(Customer).where(Customer.id == customer_id).with_for_update()
        customer = await self._session.scalar(stmt)
        if customer is None:
            raise NotFoundException(detail=f"Customer {customer_id} not found.")
        return customer


def _phone_taken() -> ClientException:
    return ClientException(
        status_code=HTTP_409_CONFLICT,
        detail="A customer with this phone number is already registered.",
    )
