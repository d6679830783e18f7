"""Registers the loans module's HTTP routes and the gate that serialises bookings."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.modules.loans.booking import BookingGate
from credit.modules.loans.controller import LoanController
from credit.settings import Settings


class LoansPlugin(InitPluginProtocol):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(LoanController)
        app_config.state["booking_gate"] = BookingGate(
            serialise_in_process=self.settings.is_embedded
        )
        return app_config
