"""How the process's engine connects: pool, timeouts and driver options, in one place.

`credit.db.database` gives these to Advanced Alchemy's config, which builds the web
app's, the jobs' and most commands' one engine. `credit ingest` on PostgreSQL, which needs
an engine and no session or service, builds its one engine from the same options with
SQLAlchemy alone: Advanced Alchemy and Litestar would add about half a second of imports to
a command an operator waits for (docs/benchmarks.md, Ingestion).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from credit.settings import Settings

# asyncpg prepares each statement once per connection and keeps it (SQLAlchemy's LRU cache).
PREPARED_STATEMENT_CACHE_SIZE = 256


def engine_options(settings: Settings) -> dict[str, Any]:
    """`create_async_engine` keyword arguments (Advanced Alchemy's `EngineConfig` fields)."""
    # Statement parameters are phone numbers and incomes: never in logs or error messages.
    if settings.is_embedded:
        return {"echo": settings.database_echo, "hide_parameters": True}
    return {
        "echo": settings.database_echo,
        "hide_parameters": True,
        "pool_size": settings.database_pool_size,
        # A full pool answers 503 after `pool_timeout` instead of queueing requests forever.
        "max_overflow": 0,
        "pool_pre_ping": False,
        "pool_timeout": 10,
        "connect_args": {
            "timeout": 5,
            "command_timeout": 30,
            "prepared_statement_cache_size": PREPARED_STATEMENT_CACHE_SIZE,
            "server_settings": {"application_name": "credit", "statement_timeout": "30000"},
        },
    }


def ingestion_engine(settings: Settings) -> AsyncEngine:
    """The engine of a `credit ingest` process on PostgreSQL (see the module docstring)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(settings.database_url, **engine_options(settings))
