"""Applying Alembic migrations from code (the embedded first start and the tests).

Operators use `credit database upgrade`; this is the same Alembic upgrade, run on a separate
engine in a worker thread because Alembic's async env starts its own event loop.
"""

from __future__ import annotations

import anyio
from advanced_alchemy.alembic.commands import AlembicCommands

from credit.plugins.database import sqlalchemy_config
from credit.settings import Settings


def upgrade_database(settings: Settings, revision: str = "head") -> None:
    # Alembic's async env disposes this engine when it is done.
    AlembicCommands(sqlalchemy_config=sqlalchemy_config(settings)).upgrade(revision=revision)


async def upgrade_database_async(settings: Settings) -> None:
    await anyio.to_thread.run_sync(upgrade_database, settings)
