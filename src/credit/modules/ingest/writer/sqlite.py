"""The SQLite writer: one `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE distinct` as an
executemany, with money in the integer units `ExactDecimal` stores there (paise, 1/10,000 %);
SQLite's rowid ids continue after the largest id by themselves."""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import (
    BigInteger,
    Date,
    Select,
    String,
    Table,
    and_,
    bindparam,
    func,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.sqlite import Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from credit.db.types import ExactDecimal
from credit.modules.ingest.plan import (
    EXISTING_CUSTOMER_SCHEMA,
    EXISTING_LOAN_SCHEMA,
    SERVICED_SCHEMA,
    ExistingBook,
)
from credit.modules.ingest.writer.fields import CUSTOMERS, LOANS, UpsertingBook


def _sent_as(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    """The type a value travels in as SQLite stores it: exact decimals as their integer units,
    dates as ISO text (the frame holds them so already: no conversion on the way)."""
    if isinstance(type_, ExactDecimal):
        return BigInteger()
    if isinstance(type_, Date):
        return String()
    return type_


def _read(table: Table, schema: dict[str, Any]) -> Select[Any]:
    """The columns of `schema`, in its order, from `table`; exact decimals in the integer units
    they are stored in (the plan's), dates as dates."""
    return select(
        *(
            type_coerce(column, BigInteger()) if isinstance(column.type, ExactDecimal) else column
            for column in (table.c[name] for name in schema)
        )
    )


CUSTOMERS_HELD = _read(CUSTOMERS, EXISTING_CUSTOMER_SCHEMA)
LOANS_HELD = _read(LOANS, EXISTING_LOAN_SCHEMA)
# The loans with payments: their rows may not change.
SERVICED_LOANS = _read(LOANS, SERVICED_SCHEMA).where(LOANS.c.outstanding_principal.is_not(None))


def upsert_statement(table: Table, compared: tuple[str, ...], servicing: tuple[str, ...]) -> Insert:
    """Insert new ids; update a row whose compared values are distinct (and, for a loan, that
    no payment has touched); leave equal rows alone. Timestamps are the database's clock."""
    written = (*compared, *servicing)
    now = func.current_timestamp()
    new = insert(table).values(
        {name: bindparam(name, type_=_sent_as(table.c[name].type)) for name in written}
        | {"created_at": now, "updated_at": now}
    )
    others = [name for name in compared if name != "id"]
    changed = tuple_(*(table.c[name] for name in others)).is_distinct_from(
        tuple_(*(new.excluded[name] for name in others))
    )
    guard = [table.c.outstanding_principal.is_(None)] if servicing else []
    return new.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={name: new.excluded[name] for name in written if name != "id"} | {"updated_at": now},
        where=and_(changed, *guard),
    )


class SqliteBook(UpsertingBook):
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def existing_book(self) -> ExistingBook:
        return ExistingBook(
            customers=await self._frame(CUSTOMERS_HELD, EXISTING_CUSTOMER_SCHEMA),
            loans=await self._frame(LOANS_HELD, EXISTING_LOAN_SCHEMA),
            serviced=await self._frame(SERVICED_LOANS, SERVICED_SCHEMA),
        )

    async def _frame(self, query: Select[Any], schema: dict[str, Any]) -> pl.DataFrame:
        # The query lists the schema's columns in the schema's order (`_read`).
        rows = (await self.conn.execute(query)).all()
        return pl.DataFrame(rows, schema=schema, orient="row")

    async def move_id_sequences(self) -> None:
        # Rowid ids continue after the largest one present.
        return None

    async def _upsert(
        self,
        table: Table,
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
        statement = upsert_statement(table, compared, servicing)
        result = await self.conn.execute(statement, values.to_dicts())
        return int(result.rowcount)
