"""The embedded default (SQLite, one process) prepares itself on start.

A first `credit run` on a fresh clone must just work: the schema is migrated to head before
the first request, and an empty book is filled with the synthetic sample in
`SAMPLE_DATA_DIR` (`data/`) so the API has customers to show. Both go through the app's one
engine (Alembic excepted: it runs on its own thread and engine). PostgreSQL deployments run
`credit database upgrade` and `credit ingest` as their own steps.
"""

from __future__ import annotations

import logging

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from sqlalchemy import text

from credit.clock import FixedClock, LenderClock
from credit.db.migrations import upgrade_database_async
from credit.modules.ingest.sample import CUSTOMERS_FILE, LOANS_FILE
from credit.modules.ingest.service import ingest_workbooks
from credit.settings import Settings

logger = logging.getLogger("credit.startup")


class EmbeddedPlugin(InitPluginProtocol):
    def __init__(self, settings: Settings, alchemy: SQLAlchemyAsyncConfig) -> None:
        self.settings = settings
        self.alchemy = alchemy

    async def prepare(self, app: Litestar) -> None:
        await upgrade_database_async(self.settings)
        await self.load_sample_book()

    async def load_sample_book(self) -> None:
        sample = self.settings.sample_data_dir
        if sample is None:
            logger.info("sample book skipped: SAMPLE_DATA_DIR is empty")
            return
        if not (sample / CUSTOMERS_FILE).exists():
            logger.warning("sample book skipped: no %s in %s", CUSTOMERS_FILE, sample.resolve())
            return
        engine = self.alchemy.get_engine()
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT 1 FROM customers LIMIT 1"))
            if found.first() is not None:
                logger.info("sample book skipped: the database already holds a book")
                return
        today = self.settings.today
        clock = FixedClock(today) if today else LenderClock(self.settings.timezone)
        report = await ingest_workbooks(
            engine, sample / CUSTOMERS_FILE, sample / LOANS_FILE, clock=clock
        )
        logger.info(
            "sample book loaded from %s: %d customers, %d loans",
            sample.resolve(),
            report.customers.inserted,
            report.loans.inserted,
        )

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        if self.settings.is_embedded:
            app_config.on_startup.insert(0, self.prepare)
        return app_config
