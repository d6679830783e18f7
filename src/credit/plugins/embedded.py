"""The embedded default (SQLite, one process) migrates its schema on start.

A first `credit run` on a fresh clone must just work: the schema is migrated to head before
the first request (Alembic runs on its own thread and engine); the ingest module then fills
an empty book with the sample (`credit.modules.ingest.sample_loader`). PostgreSQL deployments
run `credit database upgrade` and `credit ingest` as their own steps.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.db.migrations import upgrade_database_async
from credit.settings import Settings


class EmbeddedPlugin(InitPluginProtocol):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def prepare(self, app: Litestar) -> None:
        await upgrade_database_async(self.settings)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        if self.settings.is_embedded:
            app_config.on_startup.insert(0, self.prepare)
        return app_config
