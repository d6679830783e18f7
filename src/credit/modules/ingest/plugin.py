"""Registers ingestion: the HTTP controller and the `ingest_book` job (the CLI is `cli.py`)."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.modules.ingest.controller import ingest_controller
from credit.modules.ingest.jobs import ingest_book
from credit.plugins.queue import JobQueuePlugin
from credit.settings import Settings


class IngestPlugin(InitPluginProtocol):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(ingest_controller(self.settings))
        JobQueuePlugin.of(app_config).register(ingest_book)
        return app_config
