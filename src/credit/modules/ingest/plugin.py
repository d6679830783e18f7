"""Registers ingestion: the HTTP controller, the `ingest_book` job and the CLI commands."""

from __future__ import annotations

from click import Group
from litestar.config.app import AppConfig
from litestar.plugins import CLIPluginProtocol, InitPluginProtocol

from credit.modules.ingest.cli import register_commands
from credit.modules.ingest.controller import ingest_controller
from credit.modules.ingest.jobs import ingest_book
from credit.plugins.queue import JobQueuePlugin
from credit.settings import Settings


class IngestPlugin(InitPluginProtocol, CLIPluginProtocol):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(ingest_controller(self.settings))
        JobQueuePlugin.of(app_config).register(ingest_book)
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        register_commands(cli)
