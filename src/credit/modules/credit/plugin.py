"""Registers the credit module's HTTP routes and the underwriter they decide with."""

from __future__ import annotations

from litestar import Router
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.clock import Clock
from credit.lending.policy import CreditPolicy
from credit.modules.credit.controller import (
    CreditController,
    DecisionController,
    ProfileController,
)
from credit.modules.credit.underwriter import underwriter_provider


class CreditPlugin(InitPluginProtocol):
    def __init__(self, policy: CreditPolicy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # A router of their own: the underwriter is this app's (its policy and clock), and only
        # these handlers have the loans service it is built on.
        app_config.route_handlers.append(
            Router(
                path="/",
                route_handlers=[CreditController, DecisionController, ProfileController],
                dependencies={"underwriter": underwriter_provider(self.policy, self.clock)},
            )
        )
        return app_config
