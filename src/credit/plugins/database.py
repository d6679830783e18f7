"""Database wiring: Advanced Alchemy's Litestar plugin over one async engine.

SQLite (the embedded default) gets WAL and foreign keys on every connection; PostgreSQL gets a
pool sized by `DATABASE_POOL_SIZE` and a statement timeout so a stuck query cannot hold a
request forever. Alembic (migrations/) is the only way the schema is made.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from sqlalchemy import event
from sqlalchemy.engine.url import make_url

from credit.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"


# aiosqlite logs every statement with its parameters at DEBUG; those are personal data.
logging.getLogger("aiosqlite").setLevel(logging.INFO)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def engine_config(settings: Settings) -> EngineConfig:
    if settings.is_embedded:
        return EngineConfig(echo=settings.database_echo, hide_parameters=True)
    return EngineConfig(
        echo=settings.database_echo,
        # Statement parameters are phone numbers and incomes: never in logs or error messages.
        hide_parameters=True,
        # The API's statements run on their own asyncpg pool (credit.plugins.sql); this pool
        # serves API keys, probes, jobs and migrations, so it needs no overflow: a process
        # holds at most 2 x DATABASE_POOL_SIZE connections.
        pool_size=settings.database_pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_timeout=10,
        connect_args={
            "timeout": 5,
            "command_timeout": 30,
            "server_settings": {"application_name": "credit", "statement_timeout": "30000"},
        },
    )


def sqlalchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    url = make_url(settings.database_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.database_url,
        engine_config=engine_config(settings),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        before_send_handler="autocommit",
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR),
            version_table_name="alembic_versions",
            render_as_batch=True,
        ),
    )
    if settings.is_embedded:
        event.listen(config.get_engine().sync_engine, "connect", _sqlite_pragmas)
    return config


def database_plugin(settings: Settings) -> SQLAlchemyPlugin:
    return SQLAlchemyPlugin(config=sqlalchemy_config(settings))
