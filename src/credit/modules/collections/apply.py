"""Applying a collections file: every valid row as a payment under make-payment's rules,
without an HTTP call or an ORM round trip per row.

References first: a reference already recorded (by an earlier file, or earlier in this one)
with the same customer, loan, amount and date is a duplicate, skipped and counted; with other
values it is rejected as a conflict. The rest are applied loan by loan, each loan's rows in
`Paid On` order then file order, in chunks of loans: each chunk reads its loans' states (rows
held on PostgreSQL), applies their rows in memory (`loans.api.collect`), and writes the loans'
new states and the payments in one transaction. A crash loses no committed chunk, and since
references are unique, running the file again skips what was applied and applies the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from itertools import groupby
from pathlib import Path

import anyio

from credit.modules.collections.reader import CollectedRow, read_collections
from credit.modules.collections.schemas import CollectionsReport, RejectedRow
from credit.modules.loans.api import CollectedPayment, LoanService, collect

Progress = Callable[[str, int], Awaitable[None]]
# Loans per transaction.
CHUNK_LOANS = 2_000


def _values(row: CollectedRow) -> tuple[object, ...]:
    return (row.customer_id, row.loan_id, row.amount, row.paid_on)


async def apply_collections(
    loans: LoanService, path: Path, today: date, progress: Progress
) -> CollectionsReport:
    await progress("reading", 0)
    file = await anyio.to_thread.run_sync(read_collections, path)
    report = CollectionsReport(rows=file.rows, rejected=list(file.rejected))
    await progress("checking references", 0)
    recorded = await loans.payments_by_reference(sorted({row.reference for row in file.valid}))
    first: dict[str, CollectedRow] = {}
    to_apply: list[CollectedRow] = []
    for row in file.valid:
        earlier = recorded.get(row.reference)
        if earlier is None and row.reference in first:
            earlier = _values(first[row.reference])
        if earlier is None:
            first[row.reference] = row
            to_apply.append(row)
        elif earlier == _values(row):
            report.duplicates += 1
        else:
            report.rejected.append(
                RejectedRow(
                    row.row,
                    row.reference,
                    f"reference {row.reference} was already applied with other values "
                    f"(customer {earlier[0]}, loan {earlier[1]}, amount {earlier[2]}, "
                    f"paid on {earlier[3]}): a conflict",
                )
            )
    to_apply.sort(key=lambda r: (r.loan_id, r.paid_on, r.row))
    by_loan = [(loan_id, list(rows)) for loan_id, rows in groupby(to_apply, lambda r: r.loan_id)]
    done = 0
    await progress("applying", done)
    for start in range(0, len(by_loan), CHUNK_LOANS):
        chunk = by_loan[start : start + CHUNK_LOANS]
        await _apply_chunk(loans, chunk, today, report)
        done += sum(len(rows) for _, rows in chunk)
        await progress("applying", done)
    report.rejected.sort(key=lambda r: r.row)
    await progress("done", done)
    return report


async def _apply_chunk(
    loans: LoanService,
    chunk: list[tuple[int, list[CollectedRow]]],
    today: date,
    report: CollectionsReport,
) -> None:
    applied, amount, rejected = 0, report.amount_applied, []
    async with loans.transaction():
        states = await loans.states_of([loan_id for loan_id, _ in chunk], lock=True)
        settles, records = [], []
        for loan_id, rows in chunk:
            found = states.get(loan_id)
            mine = [r for r in rows if found is not None and found[0] == r.customer_id]
            for row in rows:
                if row not in mine:
                    reason = f"Customer {row.customer_id} has no loan {loan_id}."
                    rejected.append(RejectedRow(row.row, row.reference, reason))
            if not mine or found is None:
                continue
            payments = [CollectedPayment(r.reference, r.amount, r.paid_on) for r in mine]
            outcome = collect(loan_id, found[1], payments, today)
            for row, result in zip(mine, outcome.outcomes, strict=True):
                if isinstance(result, str):
                    rejected.append(RejectedRow(row.row, row.reference, result))
                else:
                    applied += 1
                    amount += row.amount
            if outcome.settle is not None:
                settles.append(outcome.settle)
            records.extend(outcome.records)
        await loans.record_collected(settles, records)
    # Counted once the chunk is committed.
    report.applied += applied
    report.amount_applied = amount
    report.rejected.extend(rejected)
