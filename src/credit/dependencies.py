"""App-wide dependencies: the clock, the credit policy, and the module services.

The services are built on the request's database session (Advanced Alchemy's `db_session`),
so one request works in one transaction whichever modules it touches.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from credit.clock import Clock
from credit.modules.credit.policy import CreditPolicy
from credit.modules.credit.service import CreditService
from credit.modules.customers.service import CustomerService
from credit.modules.loans.service import LoanService
from credit.settings import Settings


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_today(state: State) -> date:
    clock: Clock = state.clock
    return clock.today()


def provide_policy(state: State) -> CreditPolicy:
    return provide_settings(state).policy


async def provide_customers(
    db_session: NamedDependency[AsyncSession],
) -> AsyncGenerator[CustomerService, None]:
    async with CustomerService.new(session=db_session) as service:
        yield service


async def provide_loans(
    db_session: NamedDependency[AsyncSession],
) -> AsyncGenerator[LoanService, None]:
    async with LoanService.new(session=db_session) as service:
        yield service


def provide_credit(
    loans: NamedDependency[LoanService], policy: NamedDependency[CreditPolicy]
) -> CreditService:
    return CreditService(loans, policy)


DEPENDENCIES = {
    "settings": Provide(provide_settings, sync_to_thread=False),
    "today": Provide(provide_today, sync_to_thread=False),
    "policy": Provide(provide_policy, sync_to_thread=False),
    "customers": Provide(provide_customers),
    "loans": Provide(provide_loans),
    "credit": Provide(provide_credit, sync_to_thread=False),
}
