"""The composition root: `create_app()` lists the plugins and nothing else happens here."""

from __future__ import annotations

from importlib.metadata import version
from typing import cast

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncEngine

from credit.clock import Clock, FixedClock, LenderClock
from credit.modules.access.plugin import AccessPlugin
from credit.modules.credit.plugin import CreditPlugin
from credit.modules.customers.plugin import CustomersPlugin
from credit.modules.ingest.plugin import IngestPlugin
from credit.modules.loans.plugin import LoansPlugin
from credit.plugins.database import database_plugin
from credit.plugins.embedded import EmbeddedPlugin
from credit.plugins.errors import ErrorsPlugin
from credit.plugins.heap import HeapPlugin
from credit.plugins.openapi import OpenAPIPlugin
from credit.plugins.queue import JobQueuePlugin
from credit.plugins.sql import SqlPlugin
from credit.plugins.strict_input import StrictInputPlugin
from credit.plugins.telemetry import TelemetryPlugin, logging_plugin
from credit.services import ServicesPlugin
from credit.settings import Settings


def default_clock(settings: Settings) -> Clock:
    return FixedClock(settings.today) if settings.today else LenderClock(settings.timezone)


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    clock = clock or default_clock(settings)
    jobs = JobQueuePlugin(settings)
    database = database_plugin(settings)
    return Litestar(
        plugins=[
            logging_plugin(settings),
            database,
            SqlPlugin(settings, lambda: cast(AsyncEngine, database.config[0].get_engine())),
            ServicesPlugin(settings, clock),
            EmbeddedPlugin(settings),
            ErrorsPlugin(),
            StrictInputPlugin(),
            OpenAPIPlugin(version("credit")),
            TelemetryPlugin(settings),
            CustomersPlugin(),
            CreditPlugin(),
            LoansPlugin(),
            jobs,
            IngestPlugin(settings),
            *jobs.worker_plugins(),
            AccessPlugin(settings),
            HeapPlugin(),  # last: freezes what the other startup hooks built
        ],
        dependencies={"settings": Provide(provide_settings, sync_to_thread=False)},
        state=State({"settings": settings}),
        debug=settings.debug,
        # Litestar reads this from the constructor only (a plugin's AppConfig value is ignored).
        request_max_body_size=settings.max_request_body_bytes,
    )
