"""Registers the credit module's HTTP routes."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.modules.credit.controller import CreditController, ProfileController


class CreditPlugin(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend([CreditController, ProfileController])
        return app_config
