"""The PostgreSQL writer: COPY into a staging table and one MERGE, or, for a big first load,
COPY straight into the table with its keys and indexes dropped and rebuilt once.

Statements are SQLAlchemy Core over the writer's tables (`fields.py`) and the catalog. Raw SQL
stays where SQLAlchemy has no construct for it, each in one function: COPY (asyncpg's), the
MERGE from staging (`merge_sql`) and the DDL that drops and re-creates keys (`key_ddl`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import asyncpg
import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    Executable,
    MetaData,
    Row,
    Select,
    String,
    Table,
    Text,
    bindparam,
    cast,
    column,
    exists,
    false,
    func,
    literal_column,
    not_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql.elements import ColumnElement

from credit.db.types import ExactDecimal
from credit.modules.ingest.plan import (
    EXISTING_CUSTOMER_SCHEMA,
    EXISTING_LOAN_SCHEMA,
    SERVICED_SCHEMA,
    ExistingBook,
)
from credit.modules.ingest.writer.fields import CUSTOMERS, LOANS, TABLES, UpsertingBook, units_scale
from credit.modules.ingest.writer.pgcopy import Layout, binary_stream, layout_of


def _in_units(column: Column[Any]) -> ColumnElement[Any]:
    """An exact decimal column in the integer units the plan compares (paise, 1/10,000 %)."""
    scale = units_scale(column.name)
    if not scale:
        return column
    return cast(column * literal_column(str(10**scale)), BigInteger).label(column.name)


def _read(table: Table, schema: dict[str, Any]) -> Select[Any]:
    """The columns of `schema`, in its order (the CSV that COPY returns has no header)."""
    return select(*(_in_units(table.c[name]) for name in schema))


CUSTOMERS_HELD = _read(CUSTOMERS, EXISTING_CUSTOMER_SCHEMA)
LOANS_HELD = _read(LOANS, EXISTING_LOAN_SCHEMA)
# The loans with payments: few rows, read so the plan can reject a file row that would change
# one.
SERVICED_LOANS = _read(LOANS, SERVICED_SCHEMA).where(LOANS.c.outstanding_principal.is_not(None))


def staging_table(target: Table, fields: tuple[str, ...]) -> Table:
    """A temporary table of `fields`, typed as in `target` except that exact decimals arrive
    as their integer units; dropped at the commit at the latest."""
    return Table(
        f"ingest_{target.name}",
        MetaData(),
        *(
            Column(
                name,
                BigInteger
                if isinstance(target.c[name].type, ExactDecimal)
                else target.c[name].type,
            )
            for name in fields
        ),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


def merge_sql(
    target: Table, staging: Table, compared: tuple[str, ...], servicing: tuple[str, ...] = ()
) -> str:
    """One set-based upsert: insert new ids, update changed rows, leave equal rows alone.

    MERGE (rather than INSERT ... ON CONFLICT) needs no unique index to arbitrate, so the bulk
    path can load into a table whose primary key is rebuilt afterwards. The table lock makes
    it safe: no other transaction inserts meanwhile. Raw SQL: SQLAlchemy has no MERGE.
    """
    written = (*compared, *servicing)
    source = ", ".join(f"{_from_staging(name)} AS {name}" for name in written)
    others = [name for name in compared if name != "id"]
    changed = (
        f"({', '.join(f't.{name}' for name in others)}) IS DISTINCT FROM "
        f"({', '.join(f's.{name}' for name in others)})"
    )
    # A loan a payment has touched is left as it is.
    guard = " AND t.outstanding_principal IS NULL" if servicing else ""
    updated = [name for name in written if name != "id"]
    return (
        f"MERGE INTO {target.name} AS t USING (SELECT {source} FROM {staging.name}) AS s "
        f"ON t.id = s.id WHEN MATCHED AND {changed}{guard} THEN UPDATE SET "
        f"{', '.join(f'{name} = s.{name}' for name in updated)}, updated_at = now() "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(written)}) "
        f"VALUES ({', '.join(f's.{name}' for name in written)})"
    )


def _from_staging(field: str) -> str:
    # Integer paise / 1/10,000 % become exact NUMERIC here: multiplying by a numeric literal
    # gives exactly its scale (2 or 4 places), where a division would carry 16 and round.
    scale = units_scale(field)
    return f"{field}::numeric * {10**-scale:.{scale}f}" if scale else field


def _as_stored_text(field: str) -> pl.Expr:
    """The column as PostgreSQL's COPY reads it: integer paise (1/10,000 %) become exact
    decimal text ("12345.67"); the reader has already refused negative amounts and rates."""
    scale = units_scale(field)
    if not scale:
        return pl.col(field)
    unit = 10**scale
    whole = pl.col(field) // unit
    fraction = (pl.col(field) % unit).cast(pl.String).str.zfill(scale)
    return pl.format("{}.{}", whole, fraction).alias(field)


# A load this big, and bigger than the table it goes into, is faster with the table's secondary
# indexes and foreign keys rebuilt once after the insert than maintained row by row.
BULK_REBUILD_MIN_ROWS = 50_000
# The order a first load stores its rows in. Loans go in customer order: the unique index
# (customer_id, source_loan_id) is then built from sorted input and the one on (customer_id,
# end_date) from nearly sorted input, the foreign key check probes the customers in order
# (together about twice as fast as from id order on the 1M-loan book), and a customer's loans
# share heap pages, which every per-customer read benefits from.
FIRST_LOAD_ORDER = {"customers": ["id"], "loans": ["customer_id", "source_loan_id"]}


# The catalog, as far as the key rebuild reads it.
PG_ATTRIBUTE = table(
    "pg_attribute",
    column("attrelid"),
    column("attname"),
    column("atttypid"),
    column("atttypmod"),
    column("attnum"),
    column("attisdropped"),
)
PG_CONSTRAINT = table(
    "pg_constraint",
    column("oid"),
    column("conname"),
    column("conrelid"),
    column("confrelid"),
    column("contype"),
    column("conindid"),
)
PG_INDEX = table("pg_index", column("indexrelid"), column("indrelid"), column("indisprimary"))
RELATION = cast(bindparam("table"), REGCLASS)

# The columns of a table as PostgreSQL formats their types (`pgcopy.layout_of` reads them).
COLUMN_TYPES = select(
    PG_ATTRIBUTE.c.attname,
    func.format_type(PG_ATTRIBUTE.c.atttypid, PG_ATTRIBUTE.c.atttypmod).label("type"),
).where(
    PG_ATTRIBUTE.c.attrelid == RELATION,
    PG_ATTRIBUTE.c.attnum > 0,
    not_(PG_ATTRIBUTE.c.attisdropped),
)
_DEFINITION = func.pg_get_constraintdef(PG_CONSTRAINT.c.oid).label("ddl")
# Other tables' foreign keys to a table.
REFERENCES = select(
    cast(cast(PG_CONSTRAINT.c.conrelid, REGCLASS), Text).label("owner"),
    PG_CONSTRAINT.c.conname.label("name"),
    _DEFINITION,
).where(
    PG_CONSTRAINT.c.confrelid == RELATION,
    PG_CONSTRAINT.c.contype == "f",
    PG_CONSTRAINT.c.conrelid != RELATION,
)
# A table's own constraints of a kind ('p': primary key, 'f': foreign keys).
CONSTRAINTS = select(PG_CONSTRAINT.c.conname.label("name"), _DEFINITION).where(
    PG_CONSTRAINT.c.conrelid == RELATION, PG_CONSTRAINT.c.contype == bindparam("kind", type_=String)
)
# A table's indexes that are no constraint's (those go and come back with their constraint).
INDEXES = select(
    cast(cast(PG_INDEX.c.indexrelid, REGCLASS), Text).label("name"),
    func.pg_get_indexdef(PG_INDEX.c.indexrelid).label("ddl"),
).where(
    PG_INDEX.c.indrelid == RELATION,
    not_(PG_INDEX.c.indisprimary),
    ~exists().where(PG_CONSTRAINT.c.conindid == PG_INDEX.c.indexrelid),
)


def key_ddl(
    table_name: str,
    references: Sequence[Row[Any]],
    keys: Sequence[Row[Any]],
    indexes: Sequence[Row[Any]],
    foreign_keys: Sequence[Row[Any]],
) -> tuple[list[str], list[str]]:
    """The DDL that drops a table's keys, indexes and the foreign keys named, and the DDL that
    re-creates them from the catalog's own definitions (`pg_get_constraintdef`,
    `pg_get_indexdef`), in an order each one's dependencies allow. Raw SQL: the definitions
    come as text from the catalog."""
    drops = (
        [f'ALTER TABLE {r.owner} DROP CONSTRAINT "{r.name}"' for r in references]
        + [f'ALTER TABLE {table_name} DROP CONSTRAINT "{c.name}"' for c in [*foreign_keys, *keys]]
        + [f"DROP INDEX {index.name}" for index in indexes]
    )
    rebuilds = (
        [f'ALTER TABLE {table_name} ADD CONSTRAINT "{c.name}" {c.ddl}' for c in keys]
        + [index.ddl for index in indexes]
        + [f'ALTER TABLE {table_name} ADD CONSTRAINT "{c.name}" {c.ddl}' for c in foreign_keys]
        + [f'ALTER TABLE {r.owner} ADD CONSTRAINT "{r.name}" {r.ddl}' for r in references]
    )
    return drops, rebuilds


class PostgresBook(UpsertingBook):
    """Statements go through the engine's connection; its asyncpg driver connection (the same
    session, in the same transaction) is used only for COPY in and out and for the MERGE from
    a staging table, whose row count SQLAlchemy does not report."""

    def __init__(self, connection: AsyncConnection, copier: asyncpg.Connection) -> None:
        self.connection = connection
        self.copier = copier
        self.row_counts: dict[str, int] = {}

    async def existing_book(self) -> ExistingBook:
        customers = await self._query_frame(CUSTOMERS_HELD, EXISTING_CUSTOMER_SCHEMA)
        loans = await self._query_frame(LOANS_HELD, EXISTING_LOAN_SCHEMA)
        self.row_counts = {"customers": customers.height, "loans": loans.height}
        serviced = await self._query_frame(SERVICED_LOANS, SERVICED_SCHEMA)
        return ExistingBook(customers=customers, loans=loans, serviced=serviced)

    async def move_id_sequences(self) -> None:
        for written in TABLES.values():
            sequence = func.pg_get_serial_sequence(written.name, "id")
            following = func.coalesce(func.max(written.c.id), 0) + 1
            await self._run(select(func.setval(sequence, following, false())))

    async def _run(self, statement: Executable, **params: Any) -> Any:
        return await self.connection.execute(statement, params)

    async def _run_ddl(self, statement: str) -> None:
        """Run one of `key_ddl`'s statements: the raw DDL of the key rebuild."""
        await self.connection.execute(text(statement))

    async def _query_frame(self, query: Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
        buffer = io.BytesIO()
        # COPY ... TO takes the query as text, without parameters.
        sql = query.compile(dialect=self.connection.dialect, compile_kwargs={"literal_binds": True})
        await self.copier.copy_from_query(str(sql), output=buffer, format="csv")
        if buffer.tell() == 0:
            return pl.DataFrame(schema=schema)
        buffer.seek(0)
        return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=schema)

    async def _upsert(
        self,
        table: Table,
        compared: tuple[str, ...],
        rows: pl.DataFrame,
        servicing: tuple[str, ...] = (),
    ) -> int:
        fields = (*compared, *servicing)
        new_rows = int(rows["is_new"].sum()) if rows.height else 0
        held = self.row_counts.get(table.name, 0)
        rebuild = new_rows >= BULK_REBUILD_MIN_ROWS and new_rows > held
        if rebuild and held == 0:
            return await self._first_load(table, fields, rows)
        staging = staging_table(table, fields)
        await self._run(CreateTable(staging))
        csv = io.BytesIO()
        # In id order the primary key index is appended to rather than split all over.
        rows.select(fields).sort("id").write_csv(csv, include_header=False)
        del rows  # the CSV is what travels; let the frame go early on big books
        csv.seek(0)
        await self.copier.copy_to_table(
            staging.name, source=csv, columns=list(fields), format="csv"
        )
        del csv
        deferred = await self._drop_secondary_structures(table.name) if rebuild else []
        status = await self.copier.execute(merge_sql(table, staging, compared, servicing))
        if deferred:
            await self._rebuild(deferred)
        await self._run(DropTable(staging))
        return int(status.rsplit(" ", 1)[-1])  # "MERGE <rows inserted or updated>"

    async def _first_load(self, table: Table, fields: tuple[str, ...], rows: pl.DataFrame) -> int:
        """A big load into an empty table: every row is new, so COPY goes straight into the
        table with no staging pass and no MERGE, then the indexes and constraints are built
        once over the result. Binary when the columns allow it, else CSV with money already
        as decimal text."""
        deferred = await self._drop_secondary_structures(table.name, empty=True)
        count = rows.height
        rows = rows.sort(FIRST_LOAD_ORDER.get(table.name, ["id"]))
        layout = await self._binary_layout(table.name, fields, rows)
        if layout is not None:
            await self.copier.copy_to_table(
                table.name,
                source=binary_stream(layout, rows),
                columns=list(fields),
                format="binary",
            )
        else:
            csv = io.BytesIO()
            rows.select(_as_stored_text(f) for f in fields).write_csv(csv, include_header=False)
            csv.seek(0)
            await self.copier.copy_to_table(
                table.name, source=csv, columns=list(fields), format="csv"
            )
        del rows
        await self._rebuild(deferred)
        return count

    async def _binary_layout(
        self, table: str, fields: tuple[str, ...], rows: pl.DataFrame
    ) -> Layout | None:
        """The binary layout of `fields` in `table`, from the catalog (`pgcopy.layout_of`)."""
        columns = await self._run(COLUMN_TYPES, table=table)
        return layout_of(fields, {column.attname: column.type for column in columns}, rows)

    async def _rebuild(self, statements: list[str]) -> None:
        await self._run(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for statement in statements:
            await self._run_ddl(statement)

    async def _drop_secondary_structures(self, table: str, empty: bool = False) -> list[str]:
        """Drop the table's indexes and foreign keys, and its primary key when no other table
        refers to it; return the statements that re-create them. Re-created constraints check
        every row again, so nothing goes unchecked.

        An `empty` table (a first load) loses its primary key in any case: the foreign keys of
        other tables that refer to it go too and come back last, checked over tables that can
        hold no row referring to it (they would have broken those keys), so the load builds the
        key once from its rows instead of inserting a million entries into it in random order.
        """
        references = list(await self._run(REFERENCES, table=table))
        keys = []
        if empty or not references:
            keys = list(await self._run(CONSTRAINTS, table=table, kind="p"))
        else:
            references = []  # other tables' rows refer to this one's: its key stays
        indexes = list(await self._run(INDEXES, table=table))
        foreign_keys = list(await self._run(CONSTRAINTS, table=table, kind="f"))
        drops, rebuilds = key_ddl(table, references, keys, indexes, foreign_keys)
        for statement in drops:
            await self._run_ddl(statement)
        return rebuilds
