"""Ingesting a book: read and validate both workbooks, plan the ids, write it all at once.

The steps report progress through a callback (stage, rows done) so a job can publish it:
reading, writing customers, reading loans, writing loans, committing, done. Reading is
CPU-bound Polars/fastexcel work and runs in worker threads, so an in-process job does not
stall the web server's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import polars as pl
from sqlalchemy.ext.asyncio import AsyncEngine

from credit.clock import Clock
from credit.modules.ingest.plan import BookPlan, plan_customers, plan_loans, settled_as_of
from credit.modules.ingest.reader import (
    DEFAULT_LIMITS,
    REASON,
    ROW,
    SheetData,
    read_customers,
    read_loans,
)
from credit.modules.ingest.schemas import (
    CustomerRemapping,
    IngestReport,
    RejectedRow,
    Remapping,
    Sheet,
    SheetCounts,
)
from credit.modules.ingest.workbook import WorkbookLimits
from credit.modules.ingest.writer import open_book

Progress = Callable[[str, int], Awaitable[None]]


async def _no_progress(stage: str, rows_done: int) -> None:
    return None


async def ingest_workbooks(
    engine: AsyncEngine,
    customers_path: Path,
    loans_path: Path,
    clock: Clock,
    progress: Progress = _no_progress,
    limits: WorkbookLimits = DEFAULT_LIMITS,
) -> IngestReport:
    """Load the book; its loans are loaded as of `clock`'s today (the process's clock,
    `credit.clock.clock_for`: there is no default). `limits` bound what each workbook may
    cost."""
    today = clock.today()
    await progress("reading", 0)
    # The loans file (by far the bigger) is read in a thread while the customers go in, so
    # the database works while fastexcel parses. The book is locked from then on.
    loans_read = asyncio.ensure_future(anyio.to_thread.run_sync(read_loans, loans_path, limits))
    loans_read.add_done_callback(_retrieve_failure)
    try:
        customers = await anyio.to_thread.run_sync(read_customers, customers_path, limits)
        async with open_book(engine) as book:
            existing = await book.existing_book()
            customers_plan = plan_customers(customers, existing)
            await progress("writing customers", 0)
            customers_changed = await book.upsert_customers(customers_plan.customers)
            await progress("reading loans", customers_plan.customers.height)
            loans = await loans_read
            plan = plan_loans(loans, customers_plan, existing)
            await progress("writing loans", plan.customers.height)
            loans_changed = await book.upsert_loans(settled_as_of(plan.loans, today))
            await book.move_id_sequences()
            await progress("committing", plan.customers.height + plan.loans.height)
    finally:
        loans_read.cancel()  # only matters when something failed before it was awaited
    report = build_report(plan, customers_changed, loans_changed)
    await progress("done", _rows(customers) + _rows(loans))
    return report


def _retrieve_failure(task: asyncio.Future[SheetData]) -> None:
    # A failure nobody awaited (the customers step failed first) must not be logged as lost.
    if not task.cancelled():
        task.exception()


def build_report(plan: BookPlan, customers_changed: int, loans_changed: int) -> IngestReport:
    rejected = _rejected("customers", plan.rejected_customers) + _rejected(
        "loans", plan.rejected_loans
    )
    return IngestReport(
        customers=_counts(plan.customers, plan.rejected_customers, customers_changed),
        loans=_counts(plan.loans, plan.rejected_loans, loans_changed),
        rejected=rejected,
        remappings=[
            Remapping(
                row=row[ROW],
                customer_id=row["customer_id"],
                source_loan_id=row["source_loan_id"],
                loan_id=row["id"],
            )
            for row in plan.remappings.iter_rows(named=True)
        ],
        customer_remappings=[
            CustomerRemapping(
                row=row[ROW], source_customer_id=row["source_customer_id"], customer_id=row["id"]
            )
            for row in plan.customer_remappings.iter_rows(named=True)
        ],
    )


def _counts(accepted: pl.DataFrame, rejected: pl.DataFrame, changed: int) -> SheetCounts:
    inserted = int(accepted["is_new"].sum())
    updated = changed - inserted
    return SheetCounts(
        rows=accepted.height + rejected.height,
        inserted=inserted,
        updated=updated,
        unchanged=accepted.height - inserted - updated,
        rejected=rejected.height,
    )


def _rejected(sheet: Sheet, frame: pl.DataFrame) -> list[RejectedRow]:
    return [
        RejectedRow(sheet=sheet, row=row[ROW], reason=row[REASON])
        for row in frame.iter_rows(named=True)
    ]


def _rows(sheet: SheetData) -> int:
    return sheet.valid.height + sheet.rejected.height
