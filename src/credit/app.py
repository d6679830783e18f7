"""The composition root: `create_app()` lists the plugins and nothing else happens here."""

from __future__ import annotations

from importlib.metadata import version

from litestar import Litestar
from litestar.datastructures import State

from credit.clock import Clock, FixedClock, LenderClock
from credit.dependencies import DEPENDENCIES
from credit.modules.access.plugin import AccessPlugin
from credit.modules.credit.plugin import CreditPlugin
from credit.modules.customers.plugin import CustomersPlugin
from credit.modules.ingest.plugin import IngestPlugin
from credit.modules.loans.plugin import LoansPlugin
from credit.plugins.database import database_plugin
from credit.plugins.embedded import EmbeddedPlugin
from credit.plugins.errors import ErrorsPlugin
from credit.plugins.openapi import OpenAPIPlugin
from credit.plugins.queue import JobQueuePlugin
from credit.plugins.telemetry import TelemetryPlugin, logging_plugin
from credit.settings import Settings


def default_clock(settings: Settings) -> Clock:
    return FixedClock(settings.today) if settings.today else LenderClock(settings.timezone)


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    jobs = JobQueuePlugin(settings)
    return Litestar(
        plugins=[
            logging_plugin(settings),
            database_plugin(settings),
            EmbeddedPlugin(settings),
            ErrorsPlugin(),
            OpenAPIPlugin(version("credit")),
            TelemetryPlugin(settings),
            CustomersPlugin(),
            CreditPlugin(),
            LoansPlugin(settings),
            jobs,
            IngestPlugin(settings),
            *jobs.worker_plugins(),
            AccessPlugin(settings),
        ],
        dependencies=DEPENDENCIES,
        state=State({"settings": settings, "clock": clock or default_clock(settings)}),
        debug=settings.debug,
        # Litestar reads this from the constructor only (a plugin's AppConfig value is ignored).
        request_max_body_size=settings.max_request_body_bytes,
    )
