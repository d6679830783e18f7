"""Applying Alembic migrations from code (the embedded first start and the tests).

Operators use `credit database upgrade`; this is the same Alembic upgrade. Alembic's async env
starts an event loop of its own, so it always runs on a separate thread with its own engine,
whether or not the caller is inside a running loop.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anyio
from advanced_alchemy.alembic.commands import AlembicCommands

from credit.db.database import sqlalchemy_config
from credit.settings import Settings


def _upgrade(settings: Settings, revision: str) -> None:
    # Alembic's env disposes this engine when it is done.
    AlembicCommands(sqlalchemy_config=sqlalchemy_config(settings)).upgrade(revision=revision)


def upgrade_database(settings: Settings, revision: str = "head") -> None:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="alembic") as pool:
        pool.submit(_upgrade, settings, revision).result()


async def upgrade_database_async(settings: Settings) -> None:
    await anyio.to_thread.run_sync(upgrade_database, settings)
