"""What a book's write carries: the written columns of each table, taken from the tables'
one definition (`credit.db.tables`), and the units money and rates travel in."""

from __future__ import annotations

import polars as pl
from sqlalchemy import MetaData, Table

from credit.db.tables import book_state_table, customers_table, loans_table
from credit.db.types import ExactDecimal

# The writer's own copy of the two tables (their timestamps are the database's).
BOOK = MetaData()
CUSTOMERS = customers_table(BOOK)
LOANS = loans_table(BOOK)
BOOK_STATE = book_state_table(BOOK)

# What a load leaves to the database: a booking's counter, the timestamps, and a loan's state
# after its first payment.
NOT_WRITTEN = frozenset(
    {
        "booking_version",
        "created_at",
        "updated_at",
        "installments_paid_on_time",
        "outstanding_principal",
        "current_emi",
        "last_paid_on",
    }
)
# Written with a loan, never compared: see the package docstring.
LOAN_SERVICING_FIELDS = ("loaded_on", "installments_settled")


def _written(table: Table, *but: str) -> tuple[str, ...]:
    return tuple(c.name for c in table.c if c.name not in NOT_WRITTEN and c.name not in but)


CUSTOMER_FIELDS = _written(CUSTOMERS)
# A loan's id and the terms the file gives it (the plan's SERVICED_TERMS, which it compares a
# serviced loan on).
LOAN_FIELDS = _written(LOANS, *LOAN_SERVICING_FIELDS)
TABLES = {"customers": CUSTOMERS, "loans": LOANS}


# Decimal places of the integer units each exact decimal column travels in: the column's scale
# (money in paise: 2, rates in 1/10,000 %: 4). Column names do not repeat across the tables.
UNITS_SCALE = {
    c.name: c.type.scale
    for table in TABLES.values()
    for c in table.c
    if isinstance(c.type, ExactDecimal)
}


def units_scale(field: str) -> int:
    """Decimal places of the integer units a field travels in (0: it is not a decimal)."""
    return UNITS_SCALE.get(field, 0)


class UpsertingBook:
    """The upserts both databases' writers share, counting the rows they changed (the book's
    generation is raised only when that count is not 0)."""

    changed = 0  # rows inserted or updated so far

    async def _upsert(
        self,
        table: Table,
        compared: tuple[str, ...],
        rows: pl.DataFrame,
        servicing: tuple[str, ...] = (),
    ) -> int:
        raise NotImplementedError

    async def upsert_customers(self, customers: pl.DataFrame) -> int:
        return self._count(await self._upsert(CUSTOMERS, CUSTOMER_FIELDS, customers))

    async def upsert_loans(self, loans: pl.DataFrame) -> int:
        return self._count(await self._upsert(LOANS, LOAN_FIELDS, loans, LOAN_SERVICING_FIELDS))

    def _count(self, changed: int) -> int:
        self.changed += changed
        return changed
