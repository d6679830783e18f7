"""Deciding, before anything is written, what each valid row becomes in the book.

Pure Polars over the validated sheets and the keys already in the database:

- a customer already ingested (same `Customer ID`, kept as `source_customer_id`) keeps its
  id, so a re-run updates in place; a new one takes its `Customer ID` as id unless a customer
  registered through the API holds it, in which case it gets the next free id (an ingestion
  never overwrites a customer it did not load). Its loans follow it;
- a customer whose phone number is held by another customer in the book is rejected (the
  phone is unique in the book); of the remaining rows that share a phone number, the first
  keeps it and the later ones are rejected;
- a loan of a customer that is neither in the book (as loaded from the files) nor among the
  accepted file rows is rejected;
- a loan already ingested (same customer and `Loan ID`) keeps its id, so a re-run updates
  in place; a new loan takes its `Loan ID` as id unless another loan holds it (a loan in the
  book, or an earlier row of the file with the same id), in which case it gets the next free
  id after every id in the book and the file, in Excel row order. That makes the ids the same
  on every run against the same book, and a re-run changes nothing;
- a loan with payments recorded since it was loaded keeps its row as it is: a file row that
  changes its terms disagrees with those payments and is rejected, with that reason;
- each loan is loaded as of the day of loading (`settled_as_of`): the installments due by
  then count as settled, as the files are the lender's record of that day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from credit.modules.ingest.reader import REASON, ROW, SheetData

EXISTING_CUSTOMER_SCHEMA = {
    "id": pl.Int64,
    "phone_number": pl.Int64,
    "source_customer_id": pl.Int64,
}
EXISTING_LOAN_SCHEMA = {"id": pl.Int64, "customer_id": pl.Int64, "source_loan_id": pl.Int64}


# The file's fields of a loan that has payments (money in paise, rates in 1/10,000 %, as the
# reader gives them), and the day it was loaded.
SERVICED_TERMS = (
    "customer_id",
    "source_loan_id",
    "loan_amount",
    "tenure",
    "interest_rate",
    "monthly_installment",
    "emis_paid_on_time",
    "start_date",
    "end_date",
)
SERVICED_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.Int64,
    **{name: pl.Int64 for name in SERVICED_TERMS if not name.endswith("_date")},
    "start_date": pl.Date,
    "end_date": pl.Date,
    "loaded_on": pl.Date,
}


def _no_serviced_loans() -> pl.DataFrame:
    return pl.DataFrame(schema=SERVICED_SCHEMA)


@dataclass(frozen=True)
class ExistingBook:
    customers: pl.DataFrame  # id, phone_number, source_customer_id (null: registered by API)
    loans: pl.DataFrame  # id, customer_id, source_loan_id
    # Loans with payments recorded (SERVICED_SCHEMA): their rows may not change.
    serviced: pl.DataFrame = field(default_factory=_no_serviced_loans)

    @classmethod
    def empty(cls) -> ExistingBook:
        return cls(
            customers=pl.DataFrame(schema=EXISTING_CUSTOMER_SCHEMA),
            loans=pl.DataFrame(schema=EXISTING_LOAN_SCHEMA),
        )


@dataclass(frozen=True)
class BookPlan:
    customers: pl.DataFrame  # valid customer rows + `source_customer_id` + `is_new`
    loans: pl.DataFrame  # valid loan rows + `id` (the loan id to write) + `is_new`
    rejected_customers: pl.DataFrame  # excel_row, reason
    rejected_loans: pl.DataFrame  # excel_row, reason
    remappings: pl.DataFrame  # excel_row, customer_id, source_loan_id, id
    customer_remappings: pl.DataFrame  # excel_row, source_customer_id, id


@dataclass(frozen=True)
class CustomersPlan:
    customers: pl.DataFrame  # valid customer rows + `source_customer_id` + `is_new`
    rejected: pl.DataFrame  # excel_row, reason
    remappings: pl.DataFrame  # excel_row, source_customer_id, id

    def file_ids(self, existing: ExistingBook) -> pl.DataFrame:
        """Every file `Customer ID` a loan row may name, with the book id it became."""
        loaded = existing.customers.filter(pl.col("source_customer_id").is_not_null())
        accepted = self.customers.select("source_customer_id", "id")
        return pl.concat([accepted, loaded.select("source_customer_id", "id")]).unique(
            "source_customer_id", keep="first"
        )


def plan_book(customers: SheetData, loans: SheetData, existing: ExistingBook) -> BookPlan:
    return plan_loans(loans, plan_customers(customers, existing), existing)


def plan_customers(customers: SheetData, existing: ExistingBook) -> CustomersPlan:
    with_ids = _assign_customer_ids(customers.valid, existing.customers)
    planned, phone_taken = _plan_phones(with_ids, existing.customers)
    remappings = planned.filter(pl.col("id") != pl.col("source_customer_id")).select(
        ROW, "source_customer_id", "id"
    )
    return CustomersPlan(
        planned, pl.concat([customers.rejected, phone_taken]).sort(ROW), remappings.sort(ROW)
    )


def plan_loans(loans: SheetData, customers: CustomersPlan, existing: ExistingBook) -> BookPlan:
    planned_loans, unknown = _known_customers_only(loans.valid, customers.file_ids(existing))
    planned_loans = _assign_loan_ids(planned_loans, existing.loans)
    planned_loans, disagreeing = _keep_payments(planned_loans, existing.serviced)
    remappings = planned_loans.filter(pl.col("id") != pl.col("source_loan_id")).select(
        ROW, "customer_id", "source_loan_id", "id"
    )
    return BookPlan(
        customers=customers.customers,
        loans=planned_loans,
        rejected_customers=customers.rejected,
        rejected_loans=pl.concat([loans.rejected, unknown, disagreeing]).sort(ROW),
        remappings=remappings.sort(ROW),
        customer_remappings=customers.remappings,
    )


def _assign_customer_ids(valid: pl.DataFrame, existing: pl.DataFrame) -> pl.DataFrame:
    """The book id of each file customer (the reader has made the file's ids unique)."""
    loaded = existing.filter(pl.col("source_customer_id").is_not_null()).select(
        "source_customer_id", pl.col("id").alias("_existing_id")
    )
    matched = valid.rename({"id": "source_customer_id"}).join(
        loaded, on="source_customer_id", how="left"
    )
    is_new = pl.col("_existing_id").is_null()
    needs_new_id = is_new & pl.col("source_customer_id").is_in(existing["id"].implode())
    last_id = max(_max(existing["id"]), _max(matched["source_customer_id"]))
    return (
        matched.sort(ROW)
        .with_columns(
            pl.when(~is_new)
            .then(pl.col("_existing_id"))
            .when(~needs_new_id)
            .then(pl.col("source_customer_id"))
            .otherwise(pl.lit(last_id, dtype=pl.Int64) + needs_new_id.cast(pl.Int64).cum_sum())
            .alias("id"),
            is_new.alias("is_new"),
        )
        .drop("_existing_id")
    )


def _plan_phones(
    customers: pl.DataFrame, existing: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A phone held in the book by another customer is refused first; only then does the
    first of the remaining rows with one phone keep it, so a row that took another row's
    phone cannot get that (unchanged) row rejected too."""
    holders = existing.select(pl.col("phone_number"), pl.col("id").alias("_holder"))
    with_holder = customers.join(holders, on="phone_number", how="left")
    taken = pl.col("_holder").is_not_null() & (pl.col("_holder") != pl.col("id"))
    held = with_holder.filter(taken).select(
        ROW,
        pl.format("Phone Number: already held by customer {}", pl.col("_holder")).alias(REASON),
    )
    free = with_holder.filter(~taken).drop("_holder")
    free = free.with_columns(pl.col(ROW).min().over("phone_number").alias("_first"))
    repeats = free.filter(pl.col(ROW) != pl.col("_first")).select(
        ROW, pl.format("Phone Number: repeats row {}", pl.col("_first")).alias(REASON)
    )
    accepted = free.filter(pl.col(ROW) == pl.col("_first")).drop("_first")
    return accepted.sort(ROW), pl.concat([held, repeats])


def _known_customers_only(
    valid: pl.DataFrame, file_ids: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Loans name their customer by the file's `Customer ID`: it becomes the book id."""
    mapped = valid.join(
        file_ids.rename({"source_customer_id": "customer_id", "id": "_customer"}),
        on="customer_id",
        how="left",
    )
    known = pl.col("_customer").is_not_null()
    rejected = mapped.filter(~known).select(
        ROW,
        pl.format("Customer ID: no customer {} in the files loaded", pl.col("customer_id")).alias(
            REASON
        ),
    )
    accepted = mapped.filter(known).with_columns(pl.col("_customer").alias("customer_id"))
    return accepted.drop("_customer").sort(ROW), rejected


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


def _keep_payments(
    loans: pl.DataFrame, serviced: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows of loans with payments that change the loan's terms are rejected (the payments
    were settled on the terms as loaded); an unchanged row stays and changes nothing."""
    if serviced.height == 0:
        return loans, pl.DataFrame(schema={ROW: pl.Int64, REASON: pl.String})
    stored = serviced.select(
        pl.col("id"),
        pl.col("loaded_on"),
        *(pl.col(name).alias(f"_stored_{name}") for name in SERVICED_TERMS),
    )
    matched = loans.join(stored, on="id", how="left")
    differs = [
        pl.col(name).cast(stored.schema[f"_stored_{name}"]).ne_missing(pl.col(f"_stored_{name}"))
        for name in SERVICED_TERMS
    ]
    changed = pl.concat_str(
        [pl.when(d).then(pl.lit(name)) for d, name in zip(differs, SERVICED_TERMS, strict=True)],
        separator=", ",
        ignore_nulls=True,
    )
    matched = matched.with_columns(
        (pl.col("loaded_on").is_not_null() & pl.any_horizontal(differs)).alias("_disagrees"),
        changed.alias("_changed"),
    )
    rejected = matched.filter(pl.col("_disagrees")).select(
        ROW,
        pl.format(
            "loan {} has payments recorded since it was loaded on {}; this row changes its "
            "{}, which disagrees with them: not loaded, the payments stand",
            pl.col("id"),
            pl.col("loaded_on"),
            pl.col("_changed"),
        ).alias(REASON),
    )
    kept = matched.filter(~pl.col("_disagrees")).select(loans.columns)
    return kept, rejected


def settled_as_of(loans: pl.DataFrame, today: date) -> pl.DataFrame:
    """The loans with `loaded_on` (today) and `installments_settled`: the installments due on
    or before today (`amortization.installments_due` in Polars: installment k falls due k
    months after the start, clamped to the month's last day)."""
    start = pl.col("start_date")
    months = pl.lit(today.year * 12 + today.month, dtype=pl.Int64) - (
        start.dt.year().cast(pl.Int64) * 12 + start.dt.month().cast(pl.Int64)
    )
    month_end = today.day == calendar.monthrange(today.year, today.month)[1]
    # This month's installment is not yet due while its day is ahead (unless today is the
    # month's last day, where a clamped due date lands).
    not_yet = (
        pl.lit(0, dtype=pl.Int64) if month_end else (start.dt.day() > today.day).cast(pl.Int64)
    )
    due = pl.min_horizontal(
        pl.max_horizontal(months - not_yet, pl.lit(0, dtype=pl.Int64)),
        pl.col("tenure").cast(pl.Int64),
    )
    return loans.with_columns(
        pl.lit(today, dtype=pl.Date).alias("loaded_on"),
        due.cast(pl.Int16).alias("installments_settled"),
    )


def _max(series: pl.Series) -> int:
    value = series.max()
    return int(value) if value is not None else 0  # type: ignore[arg-type]
