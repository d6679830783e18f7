"""Bulk writing of a planned book, all or nothing, without the ORM.

`open_book(engine)` yields a `BookWriter` working inside ONE transaction, on a connection of
the process's one engine, that holds a write lock on `customers` and `loans` for its whole
length (so no API booking can take an id the plan chose); it commits when the block ends and
rolls back on any exception. When it changed a row it also raises the book's generation, so
an API booking decided on the book before this one is not booked after it
(`credit.modules.loans.booking`); an ingestion that changes nothing leaves bookings alone.

The package: `fields.py` (the tables, from their one definition in `credit.db.tables`, and
what is written of them, in which units), `postgres.py` (staging, MERGE, the key rebuild),
`pgcopy.py` (the binary COPY codec) and `sqlite.py`.

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
A loan also gets its servicing start (`LOAN_SERVICING_FIELDS`: the day it was loaded and the
installments settled by then) when it is inserted or its row changes, but those columns do not
make a row "changed" (a re-run on a later day changes nothing), and a loan with payments
(`outstanding_principal` set) is never updated: the plan has rejected such rows already.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Protocol

import polars as pl
from sqlalchemy import Table, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from credit.modules.ingest.plan import ExistingBook
from credit.modules.ingest.writer.fields import BOOK_STATE
from credit.modules.ingest.writer.postgres import PostgresBook
from credit.modules.ingest.writer.sqlite import SqliteBook


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
            await conn.execute(TAKE_WRITE_LOCK)
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
            # first). Raw SQL: SQLAlchemy has no LOCK TABLE.
            await conn.execute(text("LOCK TABLE customers, loans IN EXCLUSIVE MODE"))
            # COPY is asyncpg's: the driver connection under this one, in its transaction.
            raw = await conn.get_raw_connection()
            book = PostgresBook(conn, raw.driver_connection)
        yield book
        if book.changed:
            await conn.execute(NEXT_GENERATION[conn.dialect.name])


TAKE_WRITE_LOCK = update(BOOK_STATE).values(generation=BOOK_STATE.c.generation)


def _next_generation(
    insert: Callable[[Table], postgresql.Insert | sqlite.Insert],
) -> postgresql.Insert | sqlite.Insert:
    """The one row of `book_state`, created by the first ingestion, raised by every other."""
    first = insert(BOOK_STATE).values(id=1, generation=1)
    return first.on_conflict_do_update(
        index_elements=[BOOK_STATE.c.id], set_={"generation": BOOK_STATE.c.generation + 1}
    )


NEXT_GENERATION = {
    "postgresql": _next_generation(postgresql.insert),
    "sqlite": _next_generation(sqlite.insert),
}
