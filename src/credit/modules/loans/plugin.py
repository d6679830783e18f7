"""Registers the loans module's HTTP routes."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.modules.loans.controller import LoanController


class LoansPlugin(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(LoanController)
        return app_config
