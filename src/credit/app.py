"""The composition root: `create_app()` lists the plugins and the per-process dependencies.

One Advanced Alchemy config (one engine, one pool) serves every module: per request through
Advanced Alchemy's plugin and the services' DI providers, and in jobs and CLI commands through
the same config. The lending policy and the clock are per-process objects: app-level
dependencies (`policy`, `today`), and given to the credit and loans plugins, whose routers
build each request's underwriter and booking desk with them.
"""

from __future__ import annotations

from datetime import date
from importlib.metadata import version

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide

from credit.clock import Clock, FixedClock, LenderClock
from credit.lending.policy import CreditPolicy
from credit.modules.access.plugin import AccessPlugin
from credit.modules.credit.plugin import CreditPlugin
from credit.modules.customers.plugin import CustomersPlugin
from credit.modules.ingest.plugin import IngestPlugin
from credit.modules.loans.plugin import LoansPlugin
from credit.plugins.database import EngineShutdown, database_plugin, sqlalchemy_config
from credit.plugins.embedded import EmbeddedPlugin
from credit.plugins.errors import ErrorsPlugin
from credit.plugins.heap import HeapPlugin
from credit.plugins.logs import logging_plugin
from credit.plugins.openapi import OpenAPIPlugin
from credit.plugins.queue import JobQueuePlugin
from credit.plugins.request_deadline import RequestDeadlinePlugin
from credit.plugins.strict_input import StrictInputPlugin
from credit.plugins.telemetry import TelemetryPlugin
from credit.settings import Settings


def default_clock(settings: Settings) -> Clock:
    return FixedClock(settings.today) if settings.today else LenderClock(settings.timezone)


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    clock = clock or default_clock(settings)
    alchemy = sqlalchemy_config(settings)
    # Jobs see the app's clock: an ingestion loads the book as of its today.
    jobs = JobQueuePlugin(settings, alchemy=alchemy, clock=clock)
    policy = settings.policy

    def provide_policy() -> CreditPolicy:
        return policy

    def provide_today() -> date:
        return clock.today()

    return Litestar(
        plugins=[
            logging_plugin(settings),
            database_plugin(alchemy),
            EngineShutdown(alchemy),
            EmbeddedPlugin(settings, alchemy),
            ErrorsPlugin(),
            StrictInputPlugin(),
            RequestDeadlinePlugin(settings.request_read_timeout_seconds),
            OpenAPIPlugin(version("credit")),
            TelemetryPlugin(settings),
            CustomersPlugin(),
            CreditPlugin(policy, clock),
            LoansPlugin(alchemy, policy, clock, serialise_bookings=settings.is_embedded),
            jobs,
            IngestPlugin(settings),
            *jobs.worker_plugins(),
            AccessPlugin(settings, alchemy),
            HeapPlugin(),  # last: freezes what the other startup hooks built
        ],
        dependencies={
            "settings": Provide(provide_settings, sync_to_thread=False),
            "policy": Provide(provide_policy, sync_to_thread=False),
            "today": Provide(provide_today, sync_to_thread=False),
        },
        state=State({"settings": settings}),
        debug=settings.debug,
        # Litestar reads this from the constructor only (a plugin's AppConfig value is ignored).
        request_max_body_size=settings.max_request_body_bytes,
    )
