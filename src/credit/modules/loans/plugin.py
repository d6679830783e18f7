"""Registers the loans module's HTTP routes with the booking desk they book on, its
per-process booking and payment gates, and the purge of old idempotency keys while the app
runs."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from credit.clock import Clock
from credit.lending.policy import CreditPolicy
from credit.modules.loans.booking import BookingGate, booking_desk_provider
from credit.modules.loans.controller import LoanController
from credit.modules.loans.idempotency import KeyPurge
from credit.modules.loans.service import PaymentGate


class LoansPlugin(InitPluginProtocol):
    def __init__(
        self,
        alchemy: SQLAlchemyAsyncConfig,
        policy: CreditPolicy,
        clock: Clock,
        serialise_bookings: bool,
    ) -> None:
        self.alchemy = alchemy
        self.policy = policy
        self.clock = clock
        # SQLite has no row locks; the embedded default is one process (see BookingGate).
        self.booking_gate = BookingGate(serialise_in_process=serialise_bookings)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        bookings = booking_desk_provider(self.policy, self.booking_gate, self.clock)
        app_config.route_handlers.append(
            Router(path="/", route_handlers=[LoanController], dependencies={"bookings": bookings})
        )
        gate = PaymentGate()

        def provide_payment_gate() -> PaymentGate:
            return gate

        payment_gate = Provide(provide_payment_gate, sync_to_thread=False)
        app_config.dependencies["payment_gate"] = payment_gate
        purge = KeyPurge(self.alchemy)
        app_config.on_startup.append(purge.start)
        app_config.on_shutdown.append(purge.stop)
        return app_config
