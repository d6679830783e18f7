"""The SQLite writer: `INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE distinct` as one
executemany, with money in the integer units `ExactDecimal` stores there (paise, 1/10,000 %);
SQLite's rowid ids continue after the largest id by themselves."""

from __future__ import annotations

import polars as pl
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from credit.modules.ingest.plan import (
    EXISTING_CUSTOMER_SCHEMA,
    SERVICED_SCHEMA,
    SERVICED_TERMS,
    ExistingBook,
)
from credit.modules.ingest.writer.fields import NOT_SERVICED, UpsertingBook, upsert_sql

# The loans with payments: SQLite stores money and rates in the plan's units already, dates as
# ISO text.
SERVICED_LOANS = (
    f"SELECT id, {', '.join(SERVICED_TERMS)}, loaded_on FROM loans WHERE NOT ({NOT_SERVICED})"
)
SQLITE_DATES = ("start_date", "end_date", "loaded_on")


class SqliteBook(UpsertingBook):
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def existing_book(self) -> ExistingBook:
        customers = await self.conn.execute(
            text("SELECT id, phone_number, source_customer_id FROM customers")
        )
        loans = await self.conn.execute(text("SELECT id, customer_id, source_loan_id FROM loans"))
        serviced = await self.conn.execute(text(SERVICED_LOANS))
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
        sql = upsert_sql(
            table, compared, f"VALUES ({placeholders})", "CURRENT_TIMESTAMP", servicing
        )
        result = await self.conn.execute(text(sql), values.to_dicts())
        return int(result.rowcount)
