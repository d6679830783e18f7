"""The composition root: `create_app()` lists the plugins and the per-process dependencies.

One Advanced Alchemy config (one engine, one pool) serves every module: per request through
Advanced Alchemy's plugin and each module's `deps.py`, and in jobs and CLI commands through
`credit.db.database.provide_services` on the same config. The clock and the lending policy are
built here, once, from the settings, and handed down: to the app's own providers
(`credit.deps`: `settings`, `policy`, `today`) and to the plugins, whose `deps.py` build each
request's underwriter and booking and payment desks with them.
"""

from __future__ import annotations

from importlib.metadata import version

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.plugins.htmx import HTMXConfig, HTMXPlugin

from credit import deps
from credit.clock import Clock, clock_for
from credit.db.database import EngineShutdown, database_plugin, sqlalchemy_config
from credit.modules.access.plugin import AccessPlugin
from credit.modules.collections.plugin import CollectionsPlugin
from credit.modules.console.plugin import ConsolePlugin
from credit.modules.credit.plugin import CreditPlugin
from credit.modules.customers.plugin import CustomersPlugin
from credit.modules.ingest.plugin import IngestPlugin
from credit.modules.loans.plugin import LoansPlugin
from credit.modules.portfolio.plugin import PortfolioPlugin
from credit.plugins.allow import AllowPlugin
from credit.plugins.embedded import EmbeddedPlugin
from credit.plugins.errors import ErrorsPlugin
from credit.plugins.heap import HeapPlugin
from credit.plugins.logs import logging_plugin
from credit.plugins.money import MoneyPlugin
from credit.plugins.openapi import OpenAPIPlugin
from credit.plugins.queue import JobQueuePlugin
from credit.plugins.request_deadline import RequestDeadlinePlugin
from credit.plugins.strict_input import StrictInputPlugin
from credit.plugins.telemetry import TelemetryPlugin
from credit.settings import Settings


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    clock = clock or clock_for(settings)
    policy = settings.policy
    alchemy = sqlalchemy_config(settings)
    jobs = JobQueuePlugin(settings, alchemy=alchemy)

    return Litestar(
        plugins=[
            logging_plugin(settings),
            database_plugin(alchemy),
            EngineShutdown(alchemy),
            EmbeddedPlugin(settings),
            ErrorsPlugin(),
            StrictInputPlugin(),
            RequestDeadlinePlugin(settings.request_read_timeout_seconds),
            OpenAPIPlugin(version("credit")),
            MoneyPlugin(),
            TelemetryPlugin(settings),
            CustomersPlugin(),
            CreditPlugin(policy, clock),
            LoansPlugin(alchemy, policy, clock, serialise_bookings=settings.is_embedded),
            jobs,
            IngestPlugin(settings, alchemy, clock),
            PortfolioPlugin(settings, alchemy),
            CollectionsPlugin(settings),
            *jobs.worker_plugins(),
            AccessPlugin(settings, alchemy),
            AllowPlugin(),
            # The console's pages take htmx's request on their own router (plugin.py).
            HTMXPlugin(HTMXConfig(set_request_class_globally=False)),
            ConsolePlugin(settings),
            HeapPlugin(),  # last: freezes what the other startup hooks built
        ],
        dependencies=deps.dependencies(settings, policy, clock),
        state=State({"settings": settings}),
        debug=settings.debug,
        # Litestar reads this from the constructor only (a plugin's AppConfig value is ignored).
        request_max_body_size=settings.max_request_body_bytes,
        cors_config=cors_config(settings),
    )


def cors_config(settings: Settings) -> CORSConfig | None:
    """Browsers on `CORS_ALLOWED_ORIGINS` may call the API (none by default): with the key,
    retry and JSON headers, and reading the rate-limit and authentication answers' headers."""
    if not settings.cors_allowed_origins:
        return None
    return CORSConfig(
        allow_origins=list(settings.cors_allowed_origins),
        allow_methods=["GET", "HEAD", "POST", "PATCH", "OPTIONS"],
        allow_headers=["Content-Type", "X-API-Key", "Idempotency-Key"],
        expose_headers=[
            "RateLimit-Policy",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "Retry-After",
            "WWW-Authenticate",
        ],
        max_age=600,
    )
