"""The operator's side of a web process, wired in one plugin.

It registers the probes (`credit.plugins.health`), Litestar's Prometheus middleware and our
`/metrics` (`credit.plugins.metrics`), the request id and access line
(`credit.plugins.request_log`), and says at start-up which database is served and whether its
schema is the one this code expects. Logging is configured by `credit.plugins.logs`.
"""

from __future__ import annotations

import logging

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.openapi.spec import Tag
from litestar.plugins import InitPluginProtocol

from credit.db.schema_state import SCHEMA_KEY, SchemaState, served_database
from credit.plugins import metrics
from credit.plugins.health import HealthController, close_redis_client
from credit.plugins.request_log import AccessLog, RequestLog
from credit.settings import Settings

logger = logging.getLogger("credit.startup")


class TelemetryPlugin(InitPluginProtocol):
    """Request telemetry, `/health`, `/ready` and `/metrics`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def wrap(self, app: Litestar) -> None:
        if not isinstance(app.asgi_handler, RequestLog):
            app.asgi_handler = RequestLog(app.asgi_handler, AccessLog(self.settings))

    @staticmethod
    async def close(app: Litestar) -> None:
        await close_redis_client(app.state)

    async def report_database(self, app: Litestar) -> None:
        """One line saying what is served; a warning naming the command when the schema is
        behind (the web process keeps running, and `/ready` answers 503 until it is fixed)."""
        schema: SchemaState = app.state[SCHEMA_KEY]
        url = served_database(self.settings.database_url)
        try:
            status = await schema.check()
            # Leave no connection in the pool from start-up: on SQLite the tests found one
            # outliving its event loop (aiosqlite then raised in its thread); why is not
            # pinned down. The engine stays usable; the first request opens a new one.
            await schema.config.get_engine().dispose()
        except Exception as exc:  # unreachable: `/ready` says so too; start-up goes on
            logger.warning("serving database %s: not reachable (%s)", url, type(exc).__name__)
            return
        if status.at_head:
            logger.info("serving database %s (schema at %s)", url, status.describe())
        else:
            logger.warning("serving database %s: %s", url, status.problem())

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        metrics.ensure_multiprocess_dir()
        config = _sqlalchemy_config(app_config)
        app_config.state[SCHEMA_KEY] = SchemaState(config)
        app_config.route_handlers.extend([HealthController, metrics.MetricsController])
        # Outermost route middleware, so authentication refusals and rate limits are counted.
        app_config.middleware.insert(0, metrics.prometheus_config().middleware)
        app_config.on_startup.extend([self.wrap, self.report_database])
        app_config.on_shutdown.append(self.close)
        if app_config.openapi_config is not None:
            app_config.openapi_config.tags = [
                *(app_config.openapi_config.tags or []),
                Tag(
                    name="Operations",
                    description="Probes and metrics for operators; not part of the `/api` "
                    "contract.",
                ),
            ]
        return app_config


def _sqlalchemy_config(app_config: AppConfig) -> SQLAlchemyAsyncConfig:
    """Advanced Alchemy's config, from its plugin (listed before this one)."""
    for plugin in app_config.plugins:
        if isinstance(plugin, SQLAlchemyPlugin):
            for config in plugin.config:
                if isinstance(config, SQLAlchemyAsyncConfig):
                    return config
    raise RuntimeError("the database plugin must be listed before TelemetryPlugin")
