"""Alembic environment on Advanced Alchemy's async command config.

The app's models are imported so autogenerate sees every table; each migration runs in one
transaction (PostgreSQL has transactional DDL, so a failed upgrade leaves nothing half-done).
"""

import asyncio
from typing import TYPE_CHECKING, cast

from advanced_alchemy.base import metadata_registry
from alembic import context
from sqlalchemy import pool
from sqlalchemy.ext.asyncio import AsyncEngine, async_engine_from_config

import credit.modules.access.models
import credit.modules.customers.models
import credit.modules.loans.models  # noqa: F401  (registers the tables)

if TYPE_CHECKING:
    from advanced_alchemy.alembic.commands import AlembicCommandConfig
    from sqlalchemy.engine import Connection

config: "AlembicCommandConfig" = context.config  # type: ignore[assignment]


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=metadata_registry.get(config.bind_key),
        compare_type=True,
        version_table=config.version_table_name,
        version_table_schema=config.version_table_schema,
        render_as_batch=config.render_as_batch,
        user_module_prefix=config.user_module_prefix,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    _configure(url=config.db_url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: "Connection") -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    configuration = config.get_section(config.config_ini_section) or {}
    configuration["sqlalchemy.url"] = config.db_url
    engine = cast(
        "AsyncEngine",
        config.engine
        or async_engine_from_config(configuration, prefix="sqlalchemy.", poolclass=pool.NullPool),
    )
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
