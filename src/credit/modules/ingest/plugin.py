"""Registers ingestion: the HTTP router, the `ingest_book` job (the CLI is `cli.py`) and, in
the embedded default, the sample book loaded on start (`sample_loader.py`)."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.clock import Clock
from credit.modules.ingest.controller import ingest_router
from credit.modules.ingest.jobs import ingest_book
from credit.modules.ingest.sample_loader import SampleLoader
from credit.plugins.queue import JobQueuePlugin
from credit.settings import Settings


class IngestPlugin(InitPluginProtocol):
    def __init__(self, settings: Settings, alchemy: SQLAlchemyAsyncConfig, clock: Clock) -> None:
        self.settings = settings
        self.sample = SampleLoader(settings, alchemy, clock)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(ingest_router(self.settings))
        JobQueuePlugin.of(app_config).register(ingest_book)
        if self.settings.is_embedded:
            # After the schema is migrated (`credit.plugins.embedded`, the first hook).
            app_config.on_startup.append(self.sample.load)
        return app_config
