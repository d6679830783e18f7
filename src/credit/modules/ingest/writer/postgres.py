"""The PostgreSQL writer: COPY into a staging table and one MERGE, or, for a big first load,
COPY straight into the table with its keys and indexes dropped and rebuilt once.

Raw SQL where SQLAlchemy has no expression for it: COPY (asyncpg's), MERGE from staging, the
identity sequences and the catalog reads that drop and rebuild keys, each in one function.
"""

from __future__ import annotations

import io
from typing import Any

import asyncpg
import polars as pl
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from credit.modules.ingest.plan import (
    EXISTING_CUSTOMER_SCHEMA,
    SERVICED_SCHEMA,
    SERVICED_TERMS,
    ExistingBook,
)
from credit.modules.ingest.writer.fields import (
    MONEY_FIELDS,
    NOT_SERVICED,
    RATE_FIELDS,
    UpsertingBook,
    units_scale,
)
from credit.modules.ingest.writer.pgcopy import Layout, binary_stream, layout_of

# The loans with payments, in the units the plan compares (paise, 1/10,000 %): few rows, read
# so the plan can reject a file row that would change one.
SERVICED_LOANS = (
    "SELECT id, "
    + ", ".join(
        f"({name} * 100)::bigint"
        if name in MONEY_FIELDS
        else f"({name} * 10000)::bigint"
        if name in RATE_FIELDS
        else name
        for name in SERVICED_TERMS
    )
    + f", loaded_on FROM loans WHERE NOT ({NOT_SERVICED})"
)

STAGING_TYPES = {
    "id": "bigint",
    "customer_id": "bigint",
    "source_customer_id": "bigint",
    "source_loan_id": "bigint",
    "first_name": "text",
    "last_name": "text",
    "age": "integer",
    "phone_number": "bigint",
    "monthly_income": "bigint",
    "approved_limit": "bigint",
    "loan_amount": "bigint",
    "tenure": "integer",
    "interest_rate": "bigint",
    "monthly_installment": "bigint",
    "emis_paid_on_time": "integer",
    "start_date": "date",
    "end_date": "date",
    "loaded_on": "date",
    "installments_settled": "integer",
}


def _merge_sql(
    table: str, fields: tuple[str, ...], staging: str, servicing: tuple[str, ...] = ()
) -> str:
    """One set-based upsert: insert new ids, update changed rows, leave equal rows alone.

    MERGE (rather than INSERT ... ON CONFLICT) needs no unique index to arbitrate, so the bulk
    path can load into a table whose primary key is rebuilt afterwards. The table lock makes
    it safe: no other transaction inserts meanwhile.
    """
    written = (*fields, *servicing)
    source = ", ".join(f"{_from_staging(f)} AS {f}" for f in written)
    columns = [f for f in fields if f != "id"]
    changed = (
        f"({', '.join(f't.{f}' for f in columns)}) IS DISTINCT FROM "
        f"({', '.join(f's.{f}' for f in columns)})"
    )
    guard = f" AND t.{NOT_SERVICED}" if servicing else ""
    updated = [f for f in written if f != "id"]
    return (
        f"MERGE INTO {table} AS t USING (SELECT {source} FROM {staging}) AS s ON t.id = s.id "
        f"WHEN MATCHED AND {changed}{guard} THEN UPDATE SET "
        f"{', '.join(f'{f} = s.{f}' for f in updated)}, updated_at = now() "
        f"WHEN NOT MATCHED THEN INSERT ({', '.join(written)}) "
        f"VALUES ({', '.join(f's.{f}' for f in written)})"
    )


def _from_staging(field: str) -> str:
    # Integer paise / 1/10,000 % become exact NUMERIC here: multiplying by a numeric literal
    # gives exactly its scale (2 or 4 places), where a division would carry 16 and round.
    if field in MONEY_FIELDS:
        return f"{field}::numeric * 0.01"
    if field in RATE_FIELDS:
        return f"{field}::numeric * 0.0001"
    return field


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


class PostgresBook(UpsertingBook):
    """Statements go through the engine's connection; its asyncpg driver connection (the same
    session, in the same transaction) is used only for COPY in and out and for the MERGE from
    a staging table, whose row count SQLAlchemy does not report."""

    def __init__(self, connection: AsyncConnection, copier: asyncpg.Connection) -> None:
        self.connection = connection
        self.copier = copier
        self.row_counts: dict[str, int] = {}

    async def existing_book(self) -> ExistingBook:
        customers = await self._query_frame(
            "SELECT id, phone_number, source_customer_id FROM customers", EXISTING_CUSTOMER_SCHEMA
        )
        loans = await self._query_frame(
            "SELECT id, customer_id, source_loan_id FROM loans",
            {"id": pl.Int64, "customer_id": pl.Int64, "source_loan_id": pl.Int64},
        )
        self.row_counts = {"customers": customers.height, "loans": loans.height}
        serviced = await self._query_frame(SERVICED_LOANS, SERVICED_SCHEMA)
        return ExistingBook(customers=customers, loans=loans, serviced=serviced)

    async def move_id_sequences(self) -> None:
        for table in ("customers", "loans"):
            await self._run(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce(max(id), 0) + 1, false) FROM {table}"
            )

    async def _run(self, sql: str, **params: Any) -> Any:
        return await self.connection.execute(text(sql), params)

    async def _query_frame(self, query: str, schema: dict[str, Any]) -> pl.DataFrame:
        buffer = io.BytesIO()
        await self.copier.copy_from_query(query, output=buffer, format="csv")
        if buffer.tell() == 0:
            return pl.DataFrame(schema=schema)
        buffer.seek(0)
        return pl.read_csv(buffer, has_header=False, new_columns=list(schema), schema=schema)

    async def _upsert(
        self,
        table: str,
        compared: tuple[str, ...],
        rows: pl.DataFrame,
        servicing: tuple[str, ...] = (),
    ) -> int:
        fields = (*compared, *servicing)
        new_rows = int(rows["is_new"].sum()) if rows.height else 0
        rebuild = new_rows >= BULK_REBUILD_MIN_ROWS and new_rows > self.row_counts.get(table, 0)
        if rebuild and self.row_counts.get(table, 0) == 0:
            return await self._first_load(table, fields, rows)
        staging = f"ingest_{table}"
        columns = ", ".join(f"{f} {STAGING_TYPES[f]}" for f in fields)
        await self._run(f"CREATE TEMPORARY TABLE {staging} ({columns}) ON COMMIT DROP")
        csv = io.BytesIO()
        # In id order the primary key index is appended to rather than split all over.
        rows.select(fields).sort("id").write_csv(csv, include_header=False)
        del rows  # the CSV is what travels; let the frame go early on big books
        csv.seek(0)
        await self.copier.copy_to_table(staging, source=csv, columns=list(fields), format="csv")
        del csv
        deferred = await self._drop_secondary_structures(table) if rebuild else []
        status = await self.copier.execute(_merge_sql(table, compared, staging, servicing))
        if deferred:
            await self._rebuild(deferred)
        await self._run(f"DROP TABLE {staging}")
        return int(status.rsplit(" ", 1)[-1])  # "MERGE <rows inserted or updated>"

    async def _first_load(self, table: str, fields: tuple[str, ...], rows: pl.DataFrame) -> int:
        """A big load into an empty table: every row is new, so COPY goes straight into the
        table with no staging pass and no MERGE, then the indexes and constraints are built
        once over the result. Binary when the columns allow it, else CSV with money already
        as decimal text."""
        deferred = await self._drop_secondary_structures(table, empty=True)
        count = rows.height
        rows = rows.sort(FIRST_LOAD_ORDER.get(table, ["id"]))
        layout = await self._binary_layout(table, fields, rows)
        if layout is not None:
            await self.copier.copy_to_table(
                table, source=binary_stream(layout, rows), columns=list(fields), format="binary"
            )
        else:
            csv = io.BytesIO()
            rows.select(_as_stored_text(f) for f in fields).write_csv(csv, include_header=False)
            csv.seek(0)
            await self.copier.copy_to_table(table, source=csv, columns=list(fields), format="csv")
        del rows
        await self._rebuild(deferred)
        return count

    async def _binary_layout(
        self, table: str, fields: tuple[str, ...], rows: pl.DataFrame
    ) -> Layout | None:
        """The binary layout of `fields` in `table`, from the catalog (`pgcopy.layout_of`)."""
        columns = await self._run(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute "
            "WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 AND NOT attisdropped",
            table=table,
        )
        return layout_of(fields, {column.attname: column.type for column in columns}, rows)

    async def _rebuild(self, statements: list[str]) -> None:
        await self._run("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in statements:
            await self._run(statement)

    async def _drop_secondary_structures(self, table: str, empty: bool = False) -> list[str]:
        """Drop the table's indexes and foreign keys, and its primary key when no other table
        refers to it; return the statements that re-create them. Re-created constraints check
        every row again, so nothing goes unchecked.

        An `empty` table (a first load) loses its primary key in any case: the foreign keys of
        other tables that refer to it go too and come back last, checked over tables that can
        hold no row referring to it (they would have broken those keys), so the load builds the
        key once from its rows instead of inserting a million entries into it in random order.
        """
        relation = "CAST(:table AS regclass)"
        references = list(
            await self._run(
                "SELECT conrelid::regclass::text AS owner, conname AS name, "
                "pg_get_constraintdef(oid) AS ddl FROM pg_constraint "
                f"WHERE confrelid = {relation} AND contype = 'f' AND conrelid <> {relation}",
                table=table,
            )
        )
        keys = []
        if empty or not references:
            keys = list(
                await self._run(
                    "SELECT conname AS name, pg_get_constraintdef(oid) AS ddl FROM pg_constraint "
                    f"WHERE conrelid = {relation} AND contype = 'p'",
                    table=table,
                )
            )
        else:
            references = []  # other tables' rows refer to this one's: its key stays
        indexes = list(
            await self._run(
                "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS ddl "
                f"FROM pg_index i WHERE i.indrelid = {relation} AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                table=table,
            )
        )
        foreign_keys = list(
            await self._run(
                "SELECT conname AS name, pg_get_constraintdef(oid) AS ddl FROM pg_constraint "
                f"WHERE conrelid = {relation} AND contype = 'f'",
                table=table,
            )
        )
        for reference in references:
            await self._run(f'ALTER TABLE {reference.owner} DROP CONSTRAINT "{reference.name}"')
        for constraint in [*foreign_keys, *keys]:
            await self._run(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint.name}"')
        for index in indexes:
            await self._run(f"DROP INDEX {index.name}")
        return (
            [f'ALTER TABLE {table} ADD CONSTRAINT "{c.name}" {c.ddl}' for c in keys]
            + [index.ddl for index in indexes]
            + [f'ALTER TABLE {table} ADD CONSTRAINT "{c.name}" {c.ddl}' for c in foreign_keys]
            + [f'ALTER TABLE {r.owner} ADD CONSTRAINT "{r.name}" {r.ddl}' for r in references]
        )
