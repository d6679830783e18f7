"""What a book's write carries: the written columns of each table, the units money and rates
travel in, and the upserts both databases' writers share."""

from __future__ import annotations

import polars as pl

from credit.modules.ingest.plan import SERVICED_TERMS

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
# Written with a loan, never compared: see the package docstring.
LOAN_SERVICING_FIELDS = ("loaded_on", "installments_settled")
# A loan a payment has touched: its row is left as it is.
NOT_SERVICED = "outstanding_principal IS NULL"
MONEY_FIELDS = {"monthly_income", "approved_limit", "loan_amount", "monthly_installment"}
RATE_FIELDS = {"interest_rate"}


def units_scale(field: str) -> int:
    """Decimal places of the integer units a field travels in (paise: 2, 1/10,000 %: 4)."""
    return 2 if field in MONEY_FIELDS else 4 if field in RATE_FIELDS else 0


def _changed_columns(table: str, fields: tuple[str, ...]) -> str:
    """`(t.a, t.b) IS DISTINCT FROM (excluded.a, excluded.b)` over every non-key field."""
    columns = [f for f in fields if f != "id"]
    ours = ", ".join(f"{table}.{f}" for f in columns)
    theirs = ", ".join(f"excluded.{f}" for f in columns)
    return f"({ours}) IS DISTINCT FROM ({theirs})"


def upsert_sql(
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


class UpsertingBook:
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
