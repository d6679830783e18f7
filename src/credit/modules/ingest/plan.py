"""Deciding, before anything is written, what each valid row becomes in the book.

Pure Polars over the validated sheets and the keys already in the database:

- a customer keeps the file's `Customer ID`; one whose phone number is held by another
  customer is rejected (the phone is unique in the book);
- a loan of a customer that is neither in the book nor among the accepted file rows is
  rejected;
- a loan already ingested (same customer and `Loan ID`) keeps its id, so a re-run updates
  in place; a new loan takes its `Loan ID` as id unless another loan holds it (a loan in the
  book, or an earlier row of the file with the same id), in which case it gets the next free
  id after every id in the book and the file, in Excel row order. That makes the ids the same
  on every run against the same book, and a re-run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from credit.modules.ingest.reader import REASON, ROW, SheetData


@dataclass(frozen=True)
class ExistingBook:
    customers: pl.DataFrame  # id, phone_number
    loans: pl.DataFrame  # id, customer_id, source_loan_id

    @classmethod
    def empty(cls) -> ExistingBook:
        return cls(
            customers=pl.DataFrame(schema={"id": pl.Int64, "phone_number": pl.Int64}),
            loans=pl.DataFrame(
                schema={"id": pl.Int64, "customer_id": pl.Int64, "source_loan_id": pl.Int64}
            ),
        )


@dataclass(frozen=True)
class BookPlan:
    customers: pl.DataFrame  # valid customer rows + `is_new`
    loans: pl.DataFrame  # valid loan rows + `id` (the loan id to write) + `is_new`
    rejected_customers: pl.DataFrame  # excel_row, reason
    rejected_loans: pl.DataFrame  # excel_row, reason
    remappings: pl.DataFrame  # excel_row, customer_id, source_loan_id, id


@dataclass(frozen=True)
class CustomersPlan:
    customers: pl.DataFrame  # valid customer rows + `is_new`
    rejected: pl.DataFrame  # excel_row, reason


def plan_book(customers: SheetData, loans: SheetData, existing: ExistingBook) -> BookPlan:
    return plan_loans(loans, plan_customers(customers, existing), existing)


def plan_customers(customers: SheetData, existing: ExistingBook) -> CustomersPlan:
    planned, phone_taken = _plan_customers(customers.valid, existing.customers)
    return CustomersPlan(planned, pl.concat([customers.rejected, phone_taken]).sort(ROW))


def plan_loans(loans: SheetData, customers: CustomersPlan, existing: ExistingBook) -> BookPlan:
    accepted_ids = pl.concat([customers.customers.select("id"), existing.customers.select("id")])
    planned_loans, unknown = _known_customers_only(loans.valid, accepted_ids)
    planned_loans = _assign_loan_ids(planned_loans, existing.loans)
    remappings = planned_loans.filter(pl.col("id") != pl.col("source_loan_id")).select(
        ROW, "customer_id", "source_loan_id", "id"
    )
    return BookPlan(
        customers=customers.customers,
        loans=planned_loans,
        rejected_customers=customers.rejected,
        rejected_loans=pl.concat([loans.rejected, unknown]).sort(ROW),
        remappings=remappings.sort(ROW),
    )


def _plan_customers(
    valid: pl.DataFrame, existing: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    holders = existing.select(pl.col("phone_number"), pl.col("id").alias("_holder"))
    with_holder = valid.join(holders, on="phone_number", how="left")
    taken = pl.col("_holder").is_not_null() & (pl.col("_holder") != pl.col("id"))
    rejected = with_holder.filter(taken).select(
        ROW,
        pl.format("Phone Number: already held by customer {}", pl.col("_holder")).alias(REASON),
    )
    accepted = with_holder.filter(~taken).drop("_holder")
    return (
        accepted.with_columns(is_new=~pl.col("id").is_in(existing["id"].implode())),
        rejected,
    )


def _known_customers_only(
    valid: pl.DataFrame, customer_ids: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    known = pl.col("customer_id").is_in(customer_ids["id"].implode())
    rejected = valid.filter(~known).select(
        ROW,
        pl.format("Customer ID: no customer {} in the book", pl.col("customer_id")).alias(REASON),
    )
    return valid.filter(known), rejected


def _assign_loan_ids(loans: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    matched = loans.join(
        existing.select("customer_id", "source_loan_id", pl.col("id").alias("_existing_id")),
        on=["customer_id", "source_loan_id"],
        how="left",
    )
    is_new = pl.col("_existing_id").is_null()
    held_in_book = pl.col("source_loan_id").is_in(existing["id"].implode())
    # Among new rows, the earliest row with an id takes it; the others need a new one.
    first_new_row = pl.col(ROW).filter(is_new).min().over("source_loan_id")
    # Made a column once: an eager frame evaluates a repeated subexpression every time it
    # appears, and this window over a million loans is the costly part of the plan.
    matched = matched.with_columns(
        (is_new & ~held_in_book & (pl.col(ROW) == first_new_row)).alias("_keeps_file_id")
    )
    keeps_file_id = pl.col("_keeps_file_id")
    needs_new_id = is_new & ~keeps_file_id
    last_id = max(_max(existing["id"]), _max(loans["source_loan_id"]))
    # Sorted by row, a running count of the rows needing an id numbers them in row order.
    return (
        matched.sort(ROW)
        .with_columns(
            pl.when(~is_new)
            .then(pl.col("_existing_id"))
            .when(keeps_file_id)
            .then(pl.col("source_loan_id"))
            .otherwise(pl.lit(last_id, dtype=pl.Int64) + needs_new_id.cast(pl.Int64).cum_sum())
            .alias("id"),
            is_new.alias("is_new"),
        )
        .drop("_existing_id", "_keeps_file_id")
    )


def _max(series: pl.Series) -> int:
    value = series.max()
    return int(value) if value is not None else 0  # type: ignore[arg-type]
