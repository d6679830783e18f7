"""Registers the credit module: its HTTP routes and its provider (`deps.py`: the underwriter)."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.clock import Clock
from credit.lending.policy import CreditPolicy
from credit.modules.credit import deps
from credit.modules.credit.controller import CreditController


class CreditPlugin(InitPluginProtocol):
    def __init__(self, policy: CreditPolicy, clock: Clock) -> None:
        self.dependencies = deps.dependencies(policy, clock)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(CreditController)
        app_config.dependencies.update(self.dependencies)
        return app_config
