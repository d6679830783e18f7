"""The one way into the database: Advanced Alchemy's config, engine, plugin and service base.

`sqlalchemy_config(settings)` is the process's only engine and pool (one exception:
`credit ingest` on PostgreSQL, which needs no session, builds its engine from the same options
in `credit.db.engine`). The web app serves it through Advanced Alchemy's Litestar plugin (a
session per request, closed by its default handler before the response goes out); jobs and CLI
commands open their sessions from the same config with `provide_services`. SQLite (the
embedded default) gets WAL and foreign keys on every connection; PostgreSQL the pool and
driver options of `credit.db.engine`. Alembic (migrations/) is the only way the schema is made.

`Service` is the lending modules' Advanced Alchemy service: statements built once, run on the
session's connection outside a transaction (each one atomic by itself, no BEGIN/COMMIT round
trips) unless a `transaction()` groups several; driver errors come out as domain errors.
`service_provider(ServiceType)` is how a module's `deps.py` gives a handler one, on the
request's session; `provide_services` is how a job or a command opens them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar, overload

from advanced_alchemy.extensions.litestar import (
    AlembicAsyncConfig,
    AsyncSessionConfig,
    EngineConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from litestar.config.app import AppConfig
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from litestar.plugins import InitPluginProtocol
from sqlalchemy import Result, event
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Executable

from credit.db.engine import engine_options
from credit.db.schema_state import MIGRATIONS_DIR, VERSION_TABLE
from credit.errors import Conflict, DatabaseUnavailable
from credit.settings import Settings

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
    return EngineConfig(**engine_options(settings))


def sqlalchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    url = make_url(settings.database_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    config = SQLAlchemyAsyncConfig(
        connection_string=settings.database_url,
        engine_config=engine_config(settings),
        # Services commit their own writes (a statement outside `transaction()` commits by
        # itself), so the request's session is only closed before the response goes out:
        # Advanced Alchemy's default handler. Its "autocommit" handler would COMMIT through
        # the ORM's machinery on every response, a read's too, for nothing to commit.
        session_config=AsyncSessionConfig(expire_on_commit=False, autoflush=False),
        alembic_config=AlembicAsyncConfig(
            script_location=str(MIGRATIONS_DIR),
            version_table_name=VERSION_TABLE,
            render_as_batch=True,
        ),
    )
    if settings.is_embedded:
        event.listen(config.get_engine().sync_engine, "connect", _sqlite_pragmas)
    return config


def database_plugin(config: SQLAlchemyAsyncConfig) -> SQLAlchemyPlugin:
    return SQLAlchemyPlugin(config=config)


class EngineShutdown(InitPluginProtocol):
    """Closes the pool's connections when the app stops, so an app started again in the same
    process (the tests, a reloading server) never lends a connection of an event loop that has
    ended: asyncpg then refuses it with "another operation is in progress". Advanced Alchemy's
    lifespan did not dispose the engine here (tests/integration/test_persistence.py)."""

    def __init__(self, config: SQLAlchemyAsyncConfig) -> None:
        self.config = config

    async def dispose(self) -> None:
        await self.config.get_engine().dispose()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.on_shutdown.append(self.dispose)
        return app_config


# --- the lending modules' service base --------------------------------------------------------

ModelT = TypeVar("ModelT", bound=Any)
Params = Mapping[str, Any]
AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
_IN_TRANSACTION = "credit.in_transaction"


# SQLSTATE classes that say the server cannot serve now, whatever the driver's exception class
# (asyncpg's `CannotConnectNowError` is a plain DBAPIError to SQLAlchemy): 08 connection
# exception, 53 insufficient resources (too many connections), 57P operator intervention (the
# server is shutting down, starting up, recovering from a crash, or was told to end this
# session).
UNAVAILABLE_SQLSTATES = ("08", "53", "57P")


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (or dropped the connection)."""
    if isinstance(exc, DBAPIError):
        state = str(getattr(exc.orig, "sqlstate", None) or "")
        return (
            exc.connection_invalidated
            or isinstance(exc, OperationalError | InterfaceError)
            or state.startswith(UNAVAILABLE_SQLSTATES)
        )
    return isinstance(exc, OSError | PoolTimeoutError)


class Service(SQLAlchemyAsyncRepositoryService[ModelT]):
    """An Advanced Alchemy service whose statements run one at a time, outside a transaction.

    A single statement is atomic on its own, so nothing on the request path pays for a
    BEGIN and a COMMIT; `transaction()` is there for the steps that must hold together."""

    async def _connection(self) -> AsyncConnection:
        session: AsyncSession = self.repository.session
        if session.in_transaction():
            return await session.connection()
        # Client-side on both drivers: asyncpg and sqlite3 simply send no BEGIN.
        return await session.connection(execution_options=AUTOCOMMIT)

    async def execute(self, statement: Executable, params: Params | None = None) -> Result[Any]:
        with driver_errors():
            connection = await self._connection()
            return await connection.execute(statement, dict(params or {}))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Statements inside the block commit together, or not at all."""
        session = self.repository.session
        if session.info.get(_IN_TRANSACTION):
            yield  # already inside one
            return
        with driver_errors():
            if session.in_transaction():
                await session.commit()  # ends the autocommit reads before: nothing to commit
            await session.connection()  # a connection in a real transaction from here
        session.info[_IN_TRANSACTION] = True
        try:
            yield
        except BaseException:
            session.info.pop(_IN_TRANSACTION, None)
            await session.rollback()
            raise
        session.info.pop(_IN_TRANSACTION, None)
        with driver_errors():
            await session.commit()


ServiceT = TypeVar("ServiceT", bound=Service[Any])
OtherT = TypeVar("OtherT", bound=Service[Any])


@overload
def provide_services(
    alchemy: SQLAlchemyAsyncConfig, first: type[ServiceT], /
) -> AbstractAsyncContextManager[tuple[ServiceT]]: ...


@overload
def provide_services(
    alchemy: SQLAlchemyAsyncConfig, first: type[ServiceT], second: type[OtherT], /
) -> AbstractAsyncContextManager[tuple[ServiceT, OtherT]]: ...


def provide_services(
    alchemy: SQLAlchemyAsyncConfig, *service_types: type[Service[Any]]
) -> AbstractAsyncContextManager[tuple[Any, ...]]:
    """Jobs' and commands' way to their services (as litestar-fullstack's `provide_services`):
    one session of the app's config, the services on it, closed when the block ends."""
    return _services(alchemy, service_types)


@asynccontextmanager
async def _services(
    alchemy: SQLAlchemyAsyncConfig, service_types: tuple[type[Service[Any]], ...]
) -> AsyncIterator[tuple[Any, ...]]:
    async with alchemy.get_session() as session:
        yield tuple(service_type(session=session) for service_type in service_types)


def service_provider(service_type: type[ServiceT]) -> Provide:
    """The dependency that gives a handler its `service_type` on the request's session.

    A plain function, not Advanced Alchemy's `create_service_provider`: that one is an async
    generator, whose closing step Litestar schedules and runs on every request, for a service
    that holds nothing to close (the plugin's handler closes the session)."""

    def provide(db_session: AsyncSession) -> ServiceT:
        return service_type(session=db_session)

    # Advanced Alchemy's plugin provides the session, already an AsyncSession: not validated.
    provide.__annotations__ = {
        "db_session": NamedDependency[SkipValidation[AsyncSession]],
        "return": service_type,
    }
    return Provide(provide, sync_to_thread=False)


@contextmanager
def driver_errors() -> Iterator[None]:
    """Driver errors as domain errors: a violated constraint is a `Conflict`, a database that
    cannot be reached `DatabaseUnavailable`; anything else goes on as it is."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict("The request conflicts with data already stored.") from exc
    except (DBAPIError, OSError, PoolTimeoutError) as exc:
        if unavailable(exc):
            raise DatabaseUnavailable(type(exc).__name__) from exc
        raise
