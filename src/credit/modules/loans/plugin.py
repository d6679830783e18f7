"""Registers the loans module's HTTP routes, its per-process payment gate, and the purge of
old idempotency keys while the app runs."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from credit.modules.loans.controller import LoanController
from credit.modules.loans.idempotency import KeyPurge
from credit.modules.loans.service import PaymentGate


class LoansPlugin(InitPluginProtocol):
    def __init__(self, alchemy: SQLAlchemyAsyncConfig) -> None:
        self.alchemy = alchemy

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(LoanController)
        gate = PaymentGate()

        def provide_payment_gate() -> PaymentGate:
            return gate

        payment_gate = Provide(provide_payment_gate, sync_to_thread=False)
        app_config.dependencies["payment_gate"] = payment_gate
        purge = KeyPurge(self.alchemy)
        app_config.on_startup.append(purge.start)
        app_config.on_shutdown.append(purge.stop)
        return app_config
