"""App-wide dependencies: the clock, the credit policy, and the module services.

The services are built on the request's database session (Advanced Alchemy's `db_session`),
so one request works in one transaction whichever modules it touches.
"""

from __future__ import annotations

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


# Providers are plain functions over the request's session: constructing a service is all
# they do, so there is nothing to clean up and no generator for Litestar to drive.


def provide_customers(db_session: NamedDependency[AsyncSession]) -> CustomerService:
    return CustomerService(session=db_session)


def provide_loans(db_session: NamedDependency[AsyncSession]) -> LoanService:
    return LoanService(session=db_session)


def provide_credit(db_session: NamedDependency[AsyncSession], state: State) -> CreditService:
    # Built from the session directly rather than from `loans` and `policy`: Litestar resolves
    # every level of the dependency graph that has more than one provider in a task group,
    # so a shallow graph is measurably cheaper on the check-eligibility path.
    return CreditService(LoanService(session=db_session), provide_policy(state))


DEPENDENCIES = {
    "settings": Provide(provide_settings, sync_to_thread=False),
    "today": Provide(provide_today, sync_to_thread=False),
    "policy": Provide(provide_policy, sync_to_thread=False),
    "customers": Provide(provide_customers, sync_to_thread=False),
    "loans": Provide(provide_loans, sync_to_thread=False),
    "credit": Provide(provide_credit, sync_to_thread=False),
}
