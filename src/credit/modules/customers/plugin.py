"""Registers the customers module: its HTTP routes and its providers (`deps.py`)."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.modules.customers import deps
from credit.modules.customers.controller import CustomerController
from credit.modules.customers.profile import ProfileController


class CustomersPlugin(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend([CustomerController, ProfileController])
        app_config.dependencies.update(deps.dependencies())
        return app_config
