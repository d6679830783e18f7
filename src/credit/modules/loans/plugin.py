"""Registers the loans module: its HTTP routes, its providers (`deps.py`: the loans service
and the booking and payment desks, with the process's gates) and the purge of old
idempotency keys while the app runs."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.clock import Clock
from credit.lending.policy import CreditPolicy
from credit.modules.loans import deps
from credit.modules.loans.controller import LoanController
from credit.modules.loans.idempotency import KeyPurge


class LoansPlugin(InitPluginProtocol):
    def __init__(
        self,
        alchemy: SQLAlchemyAsyncConfig,
        policy: CreditPolicy,
        clock: Clock,
        serialise_bookings: bool,
    ) -> None:
        self.alchemy = alchemy
        self.dependencies = deps.dependencies(policy, clock, serialise_bookings)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(LoanController)
        app_config.dependencies.update(self.dependencies)
        purge = KeyPurge(self.alchemy)
        app_config.on_startup.append(purge.start)
        app_config.on_shutdown.append(purge.stop)
        return app_config
