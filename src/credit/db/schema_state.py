"""Is the database's schema the one this code was written for (the Alembic head)?

A web process started before `credit database upgrade` would answer every `/api` call with a
500. `/ready` asks this module on each probe and answers 503 naming the problem and the
command; the start-up line says the same, and every operator command (`credit ingest`,
`credit keys ...`) refuses with those words (`schema_problem`) before it touches a table.
The head is read once from `migrations/`; the database's revision is read each time (one
small query), so `/ready` turns 200 as soon as the upgrade has run, with no restart.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, String, Table, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import make_url

if TYPE_CHECKING:
    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from sqlalchemy.ext.asyncio import AsyncEngine

SCHEMA_KEY = "schema_state"
UPGRADE_COMMAND = "credit database upgrade"
MIGRATIONS_DIR = Path(__file__).resolve().parents[3] / "migrations"
VERSION_TABLE = "alembic_versions"


REVISION = re.compile(r"^revision(?:: [^=]+)? = (?P<value>.+)$", re.MULTILINE)
DOWN_REVISION = re.compile(r"^down_revision(?:: [^=]+)? = (?P<value>.+)$", re.MULTILINE)
QUOTED = re.compile(r"[\"']([^\"']+)[\"']")


@functools.cache
def _revisions(script_location: str) -> tuple[frozenset[str], frozenset[str]]:
    """Every revision of `migrations/versions/` and those some other revision follows, read
    from the files' `revision` and `down_revision` lines as text: Alembic's ScriptDirectory
    imports every migration (and with them Advanced Alchemy and Litestar), which an operator
    command on PostgreSQL otherwise never loads."""
    known: set[str] = set()
    followed: set[str] = set()
    for path in sorted((Path(script_location) / "versions").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        revision, down = REVISION.search(text), DOWN_REVISION.search(text)
        if revision is None or down is None:
            continue
        known.update(QUOTED.findall(revision["value"]))
        followed.update(QUOTED.findall(down["value"]))
    return frozenset(known), frozenset(followed)


def migration_heads(script_location: str) -> tuple[str, ...]:
    known, followed = _revisions(script_location)
    return tuple(sorted(known - followed))


def known_revisions(script_location: str) -> frozenset[str]:
    return _revisions(script_location)[0]


def current_revisions(connection: Connection, version_table: str) -> tuple[str, ...]:
    # Alembic's version table read directly: its MigrationContext would log two INFO lines
    # ("Context impl ...") on every probe.
    if not inspect(connection).has_table(version_table):
        return ()
    table = Table(version_table, MetaData(), Column("version_num", String(32)))
    return tuple(sorted(connection.execute(select(table.c.version_num)).scalars()))


async def schema_problem(engine: AsyncEngine) -> str:
    """Why an operator command must not run on this database, naming the command that fixes
    it; empty when the schema is at the migrations' head."""
    async with engine.connect() as connection:
        current = await connection.run_sync(current_revisions, VERSION_TABLE)
    location = str(MIGRATIONS_DIR)
    return SchemaStatus(current, migration_heads(location), known_revisions(location)).problem()


@dataclass(frozen=True)
class SchemaStatus:
    current: tuple[str, ...]
    head: tuple[str, ...]
    known: frozenset[str]

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        return ", ".join(self.current) or "no revision"

    def problem(self) -> str:
        """Why the schema is not usable, and what to do (empty when it is at head)."""
        if self.at_head:
            return ""
        head = ", ".join(self.head)
        if not self.current:
            return f"the schema is not migrated (head is {head}): run `{UPGRADE_COMMAND}`"
        if set(self.current) <= self.known:
            return (
                f"the schema is at {self.describe()}, behind the migrations' head {head}: "
                f"run `{UPGRADE_COMMAND}`"
            )
        return (
            f"the schema is at {self.describe()}, which these migrations do not know (head "
            f"{head}): a newer release migrated it; deploy that release"
        )


class SchemaState:
    """Reads the schema's revision through Advanced Alchemy's engine."""

    def __init__(self, config: SQLAlchemyAsyncConfig) -> None:
        self.config = config
        alembic = config.alembic_config
        self.script_location = alembic.script_location
        self.version_table = alembic.version_table_name

    def _current(self, connection: Connection) -> tuple[str, ...]:
        return current_revisions(connection, self.version_table)

    async def check(self) -> SchemaStatus:
        async with self.config.get_engine().connect() as connection:
            current = await connection.run_sync(self._current)
        return SchemaStatus(
            current, migration_heads(self.script_location), known_revisions(self.script_location)
        )


def served_database(database_url: str) -> str:
    """The URL as an operator may read it in a log: the password hidden, a SQLite file as the
    absolute path it opens."""
    url = make_url(database_url)
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        return f"{url.drivername}:///{Path(url.database).resolve()}"
    return url.render_as_string(hide_password=True)
