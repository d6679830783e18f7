"""Registers the loans module's HTTP routes and its per-process payment gate."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from credit.modules.loans.controller import LoanController
from credit.modules.loans.service import PaymentGate


class LoansPlugin(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(LoanController)
        gate = PaymentGate()

        def provide_payment_gate() -> PaymentGate:
            return gate

        app_config.dependencies["payment_gate"] = Provide(
            provide_payment_gate, sync_to_thread=False
        )
        return app_config
