"""Registers collections: the upload route and the `import_collections` job (the CLI is
`cli.py`)."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.modules.collections.controller import collections_router
from credit.modules.collections.jobs import import_collections
from credit.plugins.queue import JobQueuePlugin
from credit.settings import Settings


class CollectionsPlugin(InitPluginProtocol):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(collections_router(self.settings))
        JobQueuePlugin.of(app_config).register(import_collections)
        return app_config
