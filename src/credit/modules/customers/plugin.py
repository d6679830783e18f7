"""Registers the customers module's HTTP routes."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.modules.customers.controller import CustomerController


class CustomersPlugin(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(CustomerController)
        return app_config
