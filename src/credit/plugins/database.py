"""Database wiring: Advanced Alchemy's Litestar plugin over one async engine.

The plugin gives the engine, the `database` migration commands and the session config the
CLI uses. HTTP handlers run on `credit.plugins.sql.Database`, never on a request-scoped
session, so `DatabasePlugin` leaves out the plugin's per-request parts (see its docstring).

SQLite (the embedded default) gets WAL and foreign keys on every connection; PostgreSQL gets a
pool sized by `DATABASE_POOL_SIZE` and a statement timeout so a stuck query cannot hold a
request forever. Alembic (migrations/) is the only way the schema is made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
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
        # The API's statements run on their own pool (credit.plugins.pool); this one serves
        # `credit keys`, probes, jobs and migrations, so it needs no overflow: a process
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
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR),
            version_table_name="alembic_versions",
            render_as_batch=True,
        ),
    )
    if settings.is_embedded:
        event.listen(config.get_engine().sync_engine, "connect", _sqlite_pragmas)
    return config


class DatabasePlugin(SQLAlchemyPlugin):
    """Advanced Alchemy's plugin without the `db_session` dependency and its `before_send`
    hook. The hook ran on every message of every response (twice a request) to commit or
    close a session that no handler opens; a handler that asks for `db_session` now fails
    when the app starts instead of running without its commit."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        # The parent adds Advanced Alchemy's own plugins, whose `on_app_init` Litestar runs
        # after those listed so far; the plugin appended last runs after them.
        app_config = super().on_app_init(app_config)
        app_config.plugins.append(_NoRequestSession(self.config))
        return app_config


class _NoRequestSession(InitPluginProtocol):
    def __init__(self, configs: Sequence[SQLAlchemyAsyncConfig | Any]) -> None:
        self.configs = configs

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        for config in self.configs:
            # Raises if Advanced Alchemy did not add them: nothing is removed silently.
            app_config.before_send.remove(config.before_send_handler)  # type: ignore[arg-type]
            del app_config.dependencies[config.session_dependency_key]
        return app_config


def database_plugin(settings: Settings) -> DatabasePlugin:
    return DatabasePlugin(config=sqlalchemy_config(settings))
