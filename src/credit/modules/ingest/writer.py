"""Bulk writing of a planned book, all or nothing, without the ORM.

`open_book(engine)` yields a `BookWriter` working inside ONE transaction, on a connection of
the process's one engine, that holds a write lock on `customers` and `loans` for its whole
length (so no API booking can take an id the plan chose); it commits when the block ends and
rolls back on any exception. When it changed a row it also raises the book's generation, so
an API booking decided on the book before this one is not booked after it
(`credit.modules.loans.booking`); an ingestion that changes nothing leaves bookings alone.

- PostgreSQL (asyncpg: the driver connection under the engine's connection): each sheet is
  COPY'd as CSV into a temporary staging table, then one set-based `MERGE` (insert new ids;
  update rows whose values are distinct) moves it into the book; money travels as integer
  paise and becomes NUMERIC in that statement. Afterwards the identity sequences are moved
  past the largest id. A load bigger than the table it goes into (a first load of a large
  book) drops the table's indexes, foreign keys and (when nothing refers to it) primary key
  first and re-creates them after the MERGE, inside the same transaction: one sorted index
  build instead of a million index insertions. Into an empty table such a load skips staging
  and MERGE: its primary key goes too, with the other tables' foreign keys to it (they can
  hold no row referring to an empty table), and all come back after the COPY. That COPY goes
  straight into the table, in PostgreSQL's binary format when every column is a fixed-width
  number or date (the loans): the server then parses no decimal or date text, and the rows
  are packed with numpy, a chunk at a time in a worker thread while the server stores the
  previous one.
- SQLite (the engine's connection): `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE
  distinct` as one executemany, with money in the integer units that `ExactDecimal` stores
  there (paise, 1/10,000 %). SQLite's rowid ids continue after the largest id by themselves.

Each upsert returns how many rows it inserted or changed; unchanged rows are not touched.
A loan also gets its servicing start (`LOAN_SERVICING_FIELDS`: the day it was loaded, the
installments settled by then and the on-time count the score takes of them) when it is
inserted or its row changes, but those columns do not make a row "changed" (a re-run on a
later day changes nothing), and a loan with payments
(`outstanding_principal` set) is never updated: the plan has rejected such rows already.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import anyio
import asyncpg
import numpy as np
import polars as pl
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from credit.modules.ingest.plan import (
    EXISTING_CUSTOMER_SCHEMA,
    SERVICED_SCHEMA,
    SERVICED_TERMS,
    ExistingBook,
)

CUSTOMER_FIELDS = (
    "id",
    "source_customer_id",
    "first_name",
    "last_name",
    "age",
    "phone_number",
    "monthly_income",
    "approved_limit",
)
# A loan's id and the terms the file gives it (the same the plan compares a serviced loan on).
LOAN_FIELDS = ("id", *SERVICED_TERMS)
# Written with a loan, never compared: see the module docstring.
LOAN_SERVICING_FIELDS = ("loaded_on", "installments_settled", "on_time_at_load")
# A loan a payment has touched: its row is left as it is.
NOT_SERVICED = "outstanding_principal IS NULL"
MONEY_FIELDS = {"monthly_income", "approved_limit", "loan_amount", "monthly_installment"}
RATE_FIELDS = {"interest_rate"}


# The loans with payments, in the units the plan compares (paise, 1/10,000 %): few rows, read
# so the plan can reject a file row that would change one.
SERVICED_LOANS_PG = (
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
# SQLite stores money and rates in those units already, dates as ISO text.
SERVICED_LOANS_SQLITE = (
    f"SELECT id, {', '.join(SERVICED_TERMS)}, loaded_on FROM loans WHERE NOT ({NOT_SERVICED})"
)
SQLITE_DATES = ("start_date", "end_date", "loaded_on")


class BookWriter(Protocol):
    async def existing_book(self) -> ExistingBook: ...

    async def upsert_customers(self, customers: pl.DataFrame) -> int: ...

    async def upsert_loans(self, loans: pl.DataFrame) -> int: ...

    async def move_id_sequences(self) -> None: ...


@asynccontextmanager
async def open_book(engine: AsyncEngine) -> AsyncIterator[BookWriter]:
    async with engine.connect() as conn, conn.begin():
        book: PostgresBook | SqliteBook
        if conn.dialect.name == "sqlite":
            # A write, even of nothing, takes SQLite's write lock at once, as the PostgreSQL
            # table lock does.
            await conn.execute(text("UPDATE book_state SET generation = generation"))
            book = SqliteBook(conn)
        else:
            # Readers go on (except during a big load into an empty table, whose rebuilt keys
            # hold `ACCESS EXCLUSIVE` locks until the commit: there is nothing to read yet);
            # API bookings and registrations wait until the book is in.
            # EXCLUSIVE: it conflicts with the ROW EXCLUSIVE lock a booking's first write takes
            # on `customers` (its claim, or the lock on its customer when it queues), and the
            # order (`customers`, then `loans`) is a booking's order too, so a booking is either
            # wholly before the book or wholly after it, and neither waits for the other while
            # holding what the other needs (deadlocks that tests/integration/test_faults.py and
            # test_booking.py found with SHARE ROW EXCLUSIVE and with a claim that took `loans`
            # first).
            await conn.execute(text("LOCK TABLE customers, loans IN EXCLUSIVE MODE"))
            # COPY is asyncpg's: the driver connection under this one, in its transaction.
            raw = await conn.get_raw_connection()
            book = PostgresBook(conn, raw.driver_connection)
        yield book
        if book.changed:
            await conn.execute(text(NEXT_GENERATION))


# Both databases: the one row of `book_state`, created by the first ingestion.
NEXT_GENERATION = (
    "INSERT INTO book_state (id, generation) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET generation = book_state.generation + 1"
)


def _changed_columns(table: str, fields: tuple[str, ...]) -> str:
    """`(t.a, t.b) IS DISTINCT FROM (excluded.a, excluded.b)` over every non-key field."""
    columns = [f for f in fields if f != "id"]
    ours = ", ".join(f"{table}.{f}" for f in columns)
    theirs = ", ".join(f"excluded.{f}" for f in columns)
    return f"({ours}) IS DISTINCT FROM ({theirs})"


def _upsert_sql(
    table: str,
    fields: tuple[str, ...],
    source: str,
    now: str,
    servicing: tuple[str, ...] = (),
) -> str:
    written = (*fields, *servicing)
    updates = ", ".join(f"{f} = excluded.{f}" for f in written if f != "id")
    guard = f" AND {table}.{NOT_SERVICED}" if servicing else ""
    return (
        f"INSERT INTO {table} ({', '.join(written)}) {source} "
        f"ON CONFLICT (id) DO UPDATE SET {updates}, updated_at = {now} "
        f"WHERE {_changed_columns(table, fields)}{guard}"
    )


# --- PostgreSQL --------------------------------------------------------------------------------

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
    "on_time_at_load": "integer",
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
    scale = 2 if field in MONEY_FIELDS else 4 if field in RATE_FIELDS else 0
    if not scale:
        return pl.col(field)
    unit = 10**scale
    whole = pl.col(field) // unit
    fraction = (pl.col(field) % unit).cast(pl.String).str.zfill(scale)
    return pl.format("{}.{}", whole, fraction).alias(field)


# --- binary COPY of a first load ----------------------------------------------------------------
#
# A row of PostgreSQL's binary COPY format is the field count (int16), then per field its
# length (int32) and its bytes, all big-endian. When every column is a number or a date, every
# row of a table has the same layout and the frame becomes one numpy structured array per
# chunk. A numeric is sent as base-10,000 digit groups (ndigits, weight, sign, dscale, digits);
# the server strips the leading and trailing zero groups, so a fixed number of groups per
# column is as exact as the decimal text and stores the same value with the same scale.

BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header extension
BINARY_TRAILER = b"\xff\xff"  # field count -1
BINARY_CHUNK_ROWS = 100_000
PG_EPOCH_DAYS = 10_957  # 2000-01-01, day 0 of PostgreSQL's binary date, after 1970-01-01
INT_WIDTHS = {"smallint": 2, "integer": 4, "bigint": 8}
NUMERIC_TYPE = re.compile(r"numeric\((\d+),(\d+)\)")
# A numeric(p, s) column is sent as groups of 4 digits, computed from the value times
# 10,000^(fraction groups) in an int64: that must stay below 10^18.
MAX_NUMERIC_DIGITS = 18


class _Int:
    def __init__(self, name: str, width: int) -> None:
        self.name, self.width = name, width
        self.dtype: list[Any] = [("length", ">i4"), ("value", f">i{width}")]

    def fits(self, column: pl.Series) -> bool:
        bound = 2 ** (8 * self.width - 1)
        return _within(column, -bound, bound)

    def fill(self, field: np.ndarray[Any, Any], column: pl.Series) -> None:
        field["length"] = self.width
        field["value"] = column.to_numpy()


class _Date(_Int):
    def __init__(self, name: str) -> None:
        super().__init__(name, 4)

    def fits(self, column: pl.Series) -> bool:
        return column.dtype == pl.Date and not column.null_count()

    def fill(self, field: np.ndarray[Any, Any], column: pl.Series) -> None:
        field["length"] = 4
        field["value"] = column.cast(pl.Int32).to_numpy() - PG_EPOCH_DAYS


class _Numeric:
    def __init__(self, name: str, precision: int, scale: int) -> None:
        self.name, self.scale = name, scale
        self.fraction_groups = -(-scale // 4)
        self.whole_groups = max(-(-(precision - scale) // 4), 1)
        groups = self.whole_groups + self.fraction_groups
        # The stored units (paise, 1/10,000 %) times this are the value times 10,000^fraction.
        self.pad = 10 ** (4 * self.fraction_groups - scale)
        self.limit = 10**precision  # in stored units: the column's own bound
        self.exact = precision + 4 * self.fraction_groups - scale <= MAX_NUMERIC_DIGITS
        self.dtype = [
            ("length", ">i4"),
            ("ndigits", ">i2"),
            ("weight", ">i2"),
            ("sign", ">i2"),
            ("dscale", ">i2"),
            ("digits", ">i2", (groups,)),
        ]

    def fits(self, column: pl.Series) -> bool:
        # Negative or too large: the text path lets PostgreSQL report it.
        return self.exact and _within(column, 0, self.limit)

    def fill(self, field: np.ndarray[Any, Any], column: pl.Series) -> None:
        groups = self.whole_groups + self.fraction_groups
        field["length"] = 8 + 2 * groups
        field["ndigits"] = groups
        field["weight"] = self.whole_groups - 1
        field["sign"] = 0  # NUMERIC_POS
        field["dscale"] = self.scale
        rest = column.cast(pl.Int64).to_numpy() * self.pad
        digits = field["digits"]
        for group in range(groups - 1, -1, -1):
            rest, digits[:, group] = np.divmod(rest, 10_000)


_Layout = list[_Int | _Numeric]


def _within(column: pl.Series, low: int, high: int) -> bool:
    """An integer column without nulls whose values are all in [low, high)."""
    if not column.dtype.is_integer() or column.null_count() or column.is_empty():
        return False
    smallest, largest = column.min(), column.max()
    return (
        isinstance(smallest, int) and isinstance(largest, int) and low <= smallest <= largest < high
    )


def _binary_chunks(layout: _Layout, rows: pl.DataFrame) -> Iterator[bytes]:
    dtype = np.dtype([("fields", ">i2"), *((f.name, f.dtype) for f in layout)])
    for offset in range(0, rows.height, BINARY_CHUNK_ROWS):
        yield _binary_rows(layout, dtype, rows.slice(offset, BINARY_CHUNK_ROWS))


def _binary_rows(layout: _Layout, dtype: np.dtype[Any], rows: pl.DataFrame) -> bytes:
    packed = np.empty(rows.height, dtype=dtype)
    packed["fields"] = len(layout)
    for field in layout:
        field.fill(packed[field.name], rows.get_column(field.name))
    return packed.tobytes()


def _units_scale(field: str) -> int:
    return 2 if field in MONEY_FIELDS else 4 if field in RATE_FIELDS else 0


# A load this big, and bigger than the table it goes into, is faster with the table's secondary
# indexes and foreign keys rebuilt once after the insert than maintained row by row.
BULK_REBUILD_MIN_ROWS = 50_000
# The order a first load stores its rows in. Loans go in customer order: the unique index
# (customer_id, source_loan_id) is then built from sorted input and the one on (customer_id,
# end_date) from nearly sorted input, the foreign key check probes the customers in order
# (together about twice as fast as from id order on the 1M-loan book), and a customer's loans
# share heap pages, which every per-customer read benefits from.
FIRST_LOAD_ORDER = {"customers": ["id"], "loans": ["customer_id", "source_loan_id"]}


class _UpsertingBook:
    """The upserts both databases' writers share, counting the rows they changed (the book's
    generation is raised only when that count is not 0)."""

    changed = 0  # rows inserted or updated so far

    async def _upsert(
        self,
        table: str,
        compared: tuple[str, ...],
        rows: pl.DataFrame,
        servicing: tuple[str, ...] = (),
    ) -> int:
        raise NotImplementedError

    async def upsert_customers(self, customers: pl.DataFrame) -> int:
        return self._count(await self._upsert("customers", CUSTOMER_FIELDS, customers))

    async def upsert_loans(self, loans: pl.DataFrame) -> int:
        return self._count(await self._upsert("loans", LOAN_FIELDS, loans, LOAN_SERVICING_FIELDS))

    def _count(self, changed: int) -> int:
        self.changed += changed
        return changed


class PostgresBook(_UpsertingBook):
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
        serviced = await self._query_frame(SERVICED_LOANS_PG, SERVICED_SCHEMA)
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
                table, source=_binary_stream(layout, rows), columns=list(fields), format="binary"
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
    ) -> _Layout | None:
        """The binary layout of `fields` in `table`, from the catalog; None when a column is not
        a fixed-width number or date, or a value is null or does not fit it."""
        columns = await self._run(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute "
            "WHERE attrelid = CAST(:table AS regclass) AND attnum > 0 AND NOT attisdropped",
            table=table,
        )
        types = {column.attname: column.type for column in columns}
        layout: _Layout = []
        for field in fields:
            kind, numeric = types[field], NUMERIC_TYPE.fullmatch(types[field])
            if kind in INT_WIDTHS and not _units_scale(field):
                layout.append(_Int(field, INT_WIDTHS[kind]))
            elif kind == "date":
                layout.append(_Date(field))
            elif numeric and int(numeric[2]) == _units_scale(field):
                layout.append(_Numeric(field, int(numeric[1]), int(numeric[2])))
            else:
                return None
        if all(f.fits(rows.get_column(f.name)) for f in layout):
            return layout
        return None

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


async def _binary_stream(layout: _Layout, rows: pl.DataFrame) -> AsyncIterator[bytes]:
    """The binary COPY stream, each chunk packed in a worker thread: the event loop stays free
    and the next chunk is packed while the server stores the one before."""
    yield BINARY_HEADER
    chunks = _binary_chunks(layout, rows)
    while (chunk := await anyio.to_thread.run_sync(next, chunks, None)) is not None:
        yield chunk
    yield BINARY_TRAILER


# --- SQLite ------------------------------------------------------------------------------------


class SqliteBook(_UpsertingBook):
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def existing_book(self) -> ExistingBook:
        customers = await self.conn.execute(
            text("SELECT id, phone_number, source_customer_id FROM customers")
        )
        loans = await self.conn.execute(text("SELECT id, customer_id, source_loan_id FROM loans"))
        serviced = await self.conn.execute(text(SERVICED_LOANS_SQLITE))
        return ExistingBook(
            serviced=pl.DataFrame(
                [tuple(row) for row in serviced],
                schema={**SERVICED_SCHEMA, **dict.fromkeys(SQLITE_DATES, pl.String)},
                orient="row",
            ).with_columns(pl.col(name).str.to_date("%Y-%m-%d") for name in SQLITE_DATES),
            customers=pl.DataFrame(
                [tuple(row) for row in customers], schema=EXISTING_CUSTOMER_SCHEMA, orient="row"
            ),
            loans=pl.DataFrame(
                [tuple(row) for row in loans],
                schema={"id": pl.Int64, "customer_id": pl.Int64, "source_loan_id": pl.Int64},
                orient="row",
            ),
        )

    async def move_id_sequences(self) -> None:
        # Rowid ids continue after the largest one present.
        return None

    async def _upsert(
        self,
        table: str,
        compared: tuple[str, ...],
        rows: pl.DataFrame,
        servicing: tuple[str, ...] = (),
    ) -> int:
        if rows.height == 0:
            return 0
        fields = (*compared, *servicing)
        # Dates are stored as ISO text by SQLAlchemy's Date type on SQLite.
        values = rows.select(
            pl.col(f).dt.to_string("%Y-%m-%d") if rows.schema[f] == pl.Date else pl.col(f)
            for f in fields
        )
        placeholders = ", ".join(f":{f}" for f in fields)
        sql = _upsert_sql(
            table, compared, f"VALUES ({placeholders})", "CURRENT_TIMESTAMP", servicing
        )
        result = await self.conn.execute(text(sql), values.to_dicts())
        return int(result.rowcount)
