"""The embedded default fills an empty book with the synthetic sample on start.

A first `credit run` on a fresh clone must just work: once `credit.plugins.embedded` has
migrated the schema, an empty book is loaded from `SAMPLE_DATA_DIR` (`data/`), as of the app's
today, on the app's one engine, so the API has customers to show, and the book is marked as
the sample (`book_state.sample`): `credit ingest` will not merge the lender's book into it
unless told to. PostgreSQL deployments run `credit ingest` as a step of their own.
"""

from __future__ import annotations

import logging

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select, update

from credit.clock import Clock
from credit.modules.customers.service import CUSTOMERS
from credit.modules.ingest.sample import CUSTOMERS_FILE, LOANS_FILE
from credit.modules.ingest.service import ingest_workbooks
from credit.modules.ingest.writer.fields import BOOK_STATE
from credit.settings import Settings

logger = logging.getLogger("credit.startup")


class SampleLoader:
    def __init__(self, settings: Settings, alchemy: SQLAlchemyAsyncConfig, clock: Clock) -> None:
        self.settings = settings
        self.alchemy = alchemy
        self.clock = clock

    async def load(self) -> None:
        sample = self.settings.sample_data_dir
        if sample is None:
            logger.info("sample book skipped: SAMPLE_DATA_DIR is empty")
            return
        if not (sample / CUSTOMERS_FILE).exists():
            logger.warning("sample book skipped: no %s in %s", CUSTOMERS_FILE, sample.resolve())
            return
        engine = self.alchemy.get_engine()
        async with engine.connect() as conn:
            found = await conn.execute(select(CUSTOMERS.c.id).limit(1))
            if found.first() is not None:
                logger.info("sample book skipped: the database already holds a book")
                return
        report = await ingest_workbooks(
            engine, sample / CUSTOMERS_FILE, sample / LOANS_FILE, self.clock
        )
        async with engine.begin() as conn:
            await conn.execute(update(BOOK_STATE).values(sample=True))
        logger.info(
            "sample book loaded from %s: %d customers, %d loans",
            sample.resolve(),
            report.customers.inserted,
            report.loans.inserted,
        )
