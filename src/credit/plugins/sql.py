"""How the lending modules reach the database: `Database`, one statement or a transaction.

The statements are SQLAlchemy Core expressions, written once (they are the single source of
the SQL). How they run depends on the database:

- PostgreSQL: each statement is compiled once for asyncpg (`$n` placeholders, SQLAlchemy's
  own casts and bind processing) and executed on an asyncpg connection lent by the process's
  `ConnectionPool` (credit.plugins.pool). No session, no ORM, no SQLAlchemy execution
  machinery per request: in the API benchmark that machinery (session, pool checkout, result
  wrapping, greenlet hops) cost more CPU than the query itself (docs/benchmarks.md, API).
  asyncpg keeps a prepared statement per connection.
- SQLite (the embedded default): the same statements on SQLAlchemy's async engine, where the
  `ExactDecimal` type turns the stored integer paise back into exact decimals.

A call outside a transaction is one atomic, committed statement. `transaction()` groups
several; it commits when the block ends and rolls back when it raises. Driver errors come
out in the service's terms: `Conflict` for a violated constraint (a taken phone number),
`DatabaseUnavailable` for a database that cannot be reached (the errors plugin answers 503).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Protocol

import asyncpg
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from credit.plugins.pool import ConnectionPool
from credit.settings import Settings

Row = Sequence[Any]
Params = Mapping[str, Any]


class Conflict(Exception):
    """A constraint refused the write (unique phone number, foreign key)."""


class DatabaseUnavailable(Exception):
    """The database could not be reached or dropped the connection; the client may retry."""


class Database(Protocol):
    # Whether a WITH may hold an UPDATE (PostgreSQL): then a read-check-write is one statement.
    writable_ctes: bool

    async def row(self, statement: Executable, params: Params | None = None) -> Row | None: ...

    async def rows(self, statement: Executable, params: Params | None = None) -> list[Row]: ...

    def transaction(self) -> AbstractAsyncContextManager[Database]: ...


# --- PostgreSQL: compiled once, run on asyncpg ------------------------------------------------

_DIALECT = asyncpg_dialect()  # type: ignore[no-untyped-call]

# What asyncpg raises when the server is gone, restarting, refusing or full.
_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    # A statement started just as the server's goodbye (a restart, pg_terminate_backend)
    # reaches an idle connection: asyncpg's protocol "cannot switch to state ...; another
    # operation is in progress" (seen in tests/integration/test_pool.py).
    asyncpg.exceptions.InternalClientError,
)


# After these a connection is not lent again (see `_fit_for_reuse`).
_CUT_OFF = (asyncio.CancelledError, DatabaseUnavailable, *_UNREACHABLE)


def _fit_for_reuse(exc: BaseException) -> bool:
    """Whether a connection may serve another statement after `exc` ended this one. Not
    after a cancelled statement (asyncpg's cancel request may still reach the server and cut
    off the next borrower's statement) nor after a failed or timed-out connection; after the
    server refused a statement (a constraint, bad data) or an error of our own, it may."""
    return not isinstance(exc, _CUT_OFF)


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """A statement as asyncpg takes it: SQL text and how to order and convert its values."""

    sql: str
    # The positional values with those the expression carries itself (dates, literals)
    # already converted; the caller's values go into a copy of it, by `position`.
    template: tuple[Any, ...]
    position: Mapping[str, int]
    required: frozenset[str]  # bind parameters the caller must give
    processors: Mapping[str, Callable[[Any], Any]]  # SQLAlchemy's bind processing per type

    def args(self, params: Params | None) -> list[Any]:
        given = params or {}
        if not self.required.issubset(given):
            # As SQLAlchemy does: a forgotten value is an error, never a silent NULL.
            missing = sorted(self.required.difference(given))
            raise KeyError(f"no value for bind parameter {missing[0]!r}")
        values = list(self.template)
        for name, value in given.items():
            index = self.position.get(name)
            if index is not None:
                process = self.processors.get(name)
                values[index] = process(value) if process is not None else value
        return values


# Statements are module constants or built once per day, so a small cache holds them all.
@lru_cache(maxsize=128)
def compile_for_asyncpg(statement: Executable) -> CompiledStatement:
    compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
    # Python-side column defaults are computed by SQLAlchemy's execution machinery, which
    # does not run here: such a column would silently get NULL. Statements give them.
    computed = [c.name for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
    if computed:
        raise ValueError(f"give these columns explicitly, not by Python default: {computed}")
    names = tuple(compiled.positiontup or ())
    processors = {}
    for name in names:
        process = compiled.binds[name].type.dialect_impl(_DIALECT).bind_processor(_DIALECT)
        if process is not None:
            processors[name] = process
    required = frozenset(name for name in names if compiled.binds[name].required)
    fixed = compiled.params
    template = tuple(
        None if name in required else processors.get(name, _same)(fixed[name]) for name in names
    )
    position = {name: index for index, name in enumerate(names)}
    return CompiledStatement(compiled.string, template, position, required, processors)


def _same(value: Any) -> Any:
    return value


async def _fetch(conn: asyncpg.Connection, sql: str, args: list[Any], one: bool) -> Any:
    try:
        if one:
            return await conn.fetchrow(sql, *args)
        return await conn.fetch(sql, *args)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise Conflict(exc.__class__.__name__) from exc
    except _UNREACHABLE as exc:
        raise DatabaseUnavailable(exc.__class__.__name__) from exc


class _AsyncpgTransaction:
    """Statements on the one connection of a transaction."""

    writable_ctes = True

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def row(self, statement: Executable, params: Params | None = None) -> Row | None:
        return await self._run(statement, params, one=True)  # type: ignore[no-any-return]

    async def rows(self, statement: Executable, params: Params | None = None) -> list[Row]:
        return await self._run(statement, params, one=False)  # type: ignore[no-any-return]

    async def _run(self, statement: Executable, params: Params | None, one: bool) -> Any:
        compiled = compile_for_asyncpg(statement)
        return await _fetch(self._conn, compiled.sql, compiled.args(params), one)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        yield self  # already inside one


class AsyncpgDatabase:
    """Each call outside `transaction()` is one autocommit statement on a pooled connection."""

    writable_ctes = True

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    async def row(self, statement: Executable, params: Params | None = None) -> Row | None:
        return await self._run(statement, params, one=True)  # type: ignore[no-any-return]

    async def rows(self, statement: Executable, params: Params | None = None) -> list[Row]:
        return await self._run(statement, params, one=False)  # type: ignore[no-any-return]

    async def _run(self, statement: Executable, params: Params | None, one: bool) -> Any:
        compiled = compile_for_asyncpg(statement)
        args = compiled.args(params)  # a missing value fails here, before a connection is taken
        conn = await self._acquire()
        try:
            result = await _fetch(conn, compiled.sql, args, one)
        except BaseException as exc:
            self.pool.release(conn, reusable=_fit_for_reuse(exc))
            raise
        self.pool.release(conn, reusable=True)
        return result

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        conn = await self._acquire()
        settled = False  # committed or rolled back: the connection is clean again
        try:
            transaction = conn.transaction()
            await _reachable(transaction.start())
            try:
                yield _AsyncpgTransaction(conn)
            except BaseException as exc:
                # The caller's error is the one to report. A connection too broken to roll
                # back, or whose statement was cut off, is closed instead of lent again.
                with contextlib.suppress(*_UNREACHABLE):
                    await transaction.rollback()
                    settled = _fit_for_reuse(exc)
                raise
            await _reachable(transaction.commit())
            settled = True
        finally:
            self.pool.release(conn, reusable=settled)

    async def _acquire(self) -> asyncpg.Connection:
        # A full pool answers 503 after its wait instead of queueing requests forever.
        try:
            return await self.pool.acquire()
        except _UNREACHABLE as exc:
            raise DatabaseUnavailable(exc.__class__.__name__) from exc

    async def close(self) -> None:
        await self.pool.close()


async def _reachable(step: Awaitable[Any]) -> None:
    try:
        await step
    except _UNREACHABLE as exc:
        raise DatabaseUnavailable(exc.__class__.__name__) from exc


async def open_asyncpg_database(settings: Settings) -> AsyncpgDatabase:
    # Connections open as requests need them: a web process starts even while the database is
    # still coming up (/ready says so), like the SQLAlchemy engine does. Nothing a statement
    # runs leaves session state behind (no session-level SET, cursors, LISTEN or advisory
    # locks; the settings come with the connection), so a connection goes back into use as
    # it is, without a reset.
    connect = partial(
        asyncpg.connect,
        make_url(settings.database_url)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False),
        timeout=5,
        command_timeout=30,
        server_settings={"application_name": "credit", "statement_timeout": "30000"},
    )
    return AsyncpgDatabase(ConnectionPool(connect, settings.database_pool_size, wait_timeout=10))


# --- SQLite (and anything else): SQLAlchemy's engine -----------------------------------------


class _SqlAlchemyTransaction:
    writable_ctes = False  # SQLite's WITH holds only SELECTs

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def _execute(self, statement: Executable, params: Params | None) -> Any:
        try:
            return await self._connection.execute(statement, dict(params or {}))
        except IntegrityError as exc:
            raise Conflict(exc.__class__.__name__) from exc

    async def row(self, statement: Executable, params: Params | None = None) -> Row | None:
        return (await self._execute(statement, params)).one_or_none()  # type: ignore[no-any-return]

    async def rows(self, statement: Executable, params: Params | None = None) -> list[Row]:
        return list((await self._execute(statement, params)).all())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        yield self  # already inside one


class SqlAlchemyDatabase:
    writable_ctes = False

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def row(self, statement: Executable, params: Params | None = None) -> Row | None:
        async with self.transaction() as tx:
            return await tx.row(statement, params)

    async def rows(self, statement: Executable, params: Params | None = None) -> list[Row]:
        async with self.transaction() as tx:
            return await tx.rows(statement, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Database]:
        async with self.engine.begin() as connection:
            yield _SqlAlchemyTransaction(connection)

    async def close(self) -> None:
        return None  # the engine belongs to the database plugin


# --- wiring -----------------------------------------------------------------------------------


async def open_database(
    settings: Settings, engine: Callable[[], AsyncEngine]
) -> AsyncpgDatabase | SqlAlchemyDatabase:
    """asyncpg for PostgreSQL; SQLAlchemy's engine (made on demand) for anything else."""
    if make_url(settings.database_url).get_backend_name() == "postgresql":
        return await open_asyncpg_database(settings)
    return SqlAlchemyDatabase(engine())


def database_of(app: Litestar) -> Database:
    database: Database = app.state.database
    return database


class SqlPlugin(InitPluginProtocol):
    """Opens the `Database` when a process starts (`app.state.database`), closes it at exit.

    `engine` is the SQLAlchemy engine of the database plugin, used where asyncpg is not."""

    def __init__(self, settings: Settings, engine: Callable[[], AsyncEngine]) -> None:
        self.settings = settings
        self.engine = engine

    async def open(self, app: Litestar) -> None:
        app.state.database = await open_database(self.settings, self.engine)

    @staticmethod
    async def close(app: Litestar) -> None:
        database = app.state.get("database")
        if database is not None:
            await database.close()
            del app.state.database

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.on_startup.insert(0, self.open)
        app_config.on_shutdown.append(self.close)
        return app_config
