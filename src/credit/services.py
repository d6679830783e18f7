"""The lending services of one process, built once when it starts.

The services are plain objects over the process's `Database` (credit.plugins.sql), so there
is nothing to build per request: handlers take `request` and call `services(request)`.
Litestar's dependency injection would build the same objects per request, and resolving it
(signature parsing, and a task group where a handler has several dependencies) measured as a
sizeable share of a request's CPU (docs/benchmarks.md, API). `request` rather than `state`:
Litestar passes the request as it is, but converts a `state` parameter into a new `State`
object on every call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.plugins import InitPluginProtocol

from credit.clock import Clock
from credit.lending.policy import CreditPolicy
from credit.modules.credit.service import CreditService
from credit.modules.customers.service import CustomerService
from credit.modules.loans.booking import BookingDesk, BookingGate
from credit.modules.loans.service import LoanService
from credit.plugins.sql import database_of
from credit.settings import Settings


@dataclass(frozen=True, slots=True)
class Services:
    clock: Clock
    policy: CreditPolicy
    customers: CustomerService
    loans: LoanService
    credit: CreditService
    bookings: BookingDesk

    def today(self) -> date:
        return self.clock.today()


def services(request: ASGIConnection[Any, Any, Any, Any]) -> Services:
    built: Services = request.app.state.services
    return built


class ServicesPlugin(InitPluginProtocol):
    """Builds `state.services` at startup, once the database is open (see `SqlPlugin`)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock

    def build(self, app: Litestar) -> None:
        database = database_of(app)
        policy = self.settings.policy
        loans = LoanService(database)
        credit = CreditService(loans, policy)
        # SQLite has no row locks; the embedded default is one process (see BookingGate).
        gate = BookingGate(serialise_in_process=self.settings.is_embedded)
        app.state.services = Services(
            clock=self.clock,
            policy=policy,
            customers=CustomerService(database),
            loans=loans,
            credit=credit,
            bookings=BookingDesk(credit, gate),
        )

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.on_startup.append(self.build)
        return app_config
