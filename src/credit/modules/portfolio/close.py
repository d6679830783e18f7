"""The close of day: every date after the last closed one up to the asked one, in order, in
one pass over the book.

The book is read in pages in customer order (a customer's loans are classified together,
borrower-wise), once however many dates are closed; the payments dated after the first of
them are read once and taken back out of each loan's figures for each date
(`classification.close_customer_flat`, the rule of `state_on` and `close_customer` over a
loan's bare figures). A date is claimed first (its `closed_days` row), then the periods
that change, the loans' figures that change and each date's summary are written in batches,
all in one transaction: a close that dies midway leaves its dates unclosed, and a second
close at the same time finds them taken when the first commits, and closes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from credit.errors import Conflict, DatabaseUnavailable, Unprocessable
from credit.lending.classification import (
    CLASSES,
    Classification,
    DayFigures,
    LaterPayment,
    close_customer_flat,
)
from credit.modules.loans.api import BookLoan, LoanService
from credit.modules.portfolio import records
from credit.modules.portfolio.schemas import CloseReport, Portfolio
from credit.modules.portfolio.service import PortfolioService

Progress = Callable[[str, int], Awaitable[None]]
# Customers per page of the book (whole customers: borrower-wise classification).
CUSTOMERS_PER_PAGE = 10_000
# Changes held before they are written.
FLUSH_AT = 20_000
CLAIM_ATTEMPTS = 5
ZERO = Decimal("0.00")
NO_PAYMENTS: list[LaterPayment] = []


class CloseRefused(Unprocessable):
    """A date that cannot be closed (today or later)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, field="date")


def dates_to_close(latest: date | None, until: date, today: date) -> list[date]:
    """Every date after `latest` up to `until`, in order; only `until` for the first close."""
    if until >= today:
        raise CloseRefused(
            f"date {until} is not over yet (today is {today}): only a past date can be closed"
        )
    if latest is None:
        return [until]
    return [latest + timedelta(days=n) for n in range(1, (until - latest).days + 1)]


@dataclass
class DayTotals:
    by_class: dict[str, list[Any]] = field(
        default_factory=lambda: {name: [0, ZERO] for name in CLASSES}
    )
    over_30: Decimal = ZERO
    over_90: Decimal = ZERO

    def add(self, figures: DayFigures) -> None:
        entry = self.by_class[figures.classification]
        entry[0] += 1
        entry[1] += figures.outstanding
        if figures.days_past_due > 30:
            self.over_30 += figures.outstanding
        if figures.days_past_due > 90:
            self.over_90 += figures.outstanding


@dataclass
class Changes:
    """What the close writes, held until a batch is full."""

    forget: list[dict[str, Any]] = field(default_factory=list)
    classify: list[dict[str, Any]] = field(default_factory=list)
    end_periods: list[dict[str, Any]] = field(default_factory=list)
    start_periods: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return (
            len(self.forget) + len(self.classify) + len(self.end_periods) + len(self.start_periods)
        )

    async def write(self, portfolio: PortfolioService) -> None:
        # Ends before starts: a period started now is the loan's only open one.
        await portfolio.execute_many(records.END_PERIOD, self.end_periods)
        await portfolio.execute_many(records.START_PERIOD, self.start_periods)
        await portfolio.execute_many(records.FORGET_LOAN, self.forget)
        await portfolio.execute_many(records.CLASSIFY_LOAN, self.classify)
        self.forget, self.classify, self.end_periods, self.start_periods = [], [], [], []


def close_customer_days(
    loans: list[BookLoan],
    later: dict[int, list[LaterPayment]],
    days: list[date],
    totals: dict[date, DayTotals],
    changes: Changes,
) -> None:
    """One customer's loans over the dates: the day's totals, the periods that change, and
    each loan's figures at the last date where they differ from the previous close's."""
    previous: list[Classification | None] = [loan.previous_classification for loan in loans]
    # The open period's class, and the period started in this close (not yet written).
    current = list(previous)
    started: list[dict[str, Any] | None] = [None] * len(loans)
    last: list[DayFigures | None] = [None] * len(loans)
    payments = [later.get(loan.loan_id, NO_PAYMENTS) for loan in loans]
    for day in days:
        figures = close_customer_flat(loans, payments, previous, day)
        for index, (loan, found) in enumerate(zip(loans, figures, strict=True)):
            name = None if found is None else found.classification
            if name != current[index]:
                if started[index] is not None:
                    period = started[index]
                    assert period is not None
                    period["to_date"] = day - timedelta(days=1)
                    changes.start_periods.append(period)
                elif current[index] is not None:
                    changes.end_periods.append(
                        {"period_loan_id": loan.loan_id, "ended_on": day - timedelta(days=1)}
                    )
                started[index] = None
                if name is not None:
                    started[index] = {
                        "loan_id": loan.loan_id,
                        "classification": name,
                        "from_date": day,
                        "to_date": None,
                    }
                current[index] = name
            previous[index] = name
            if found is not None:
                totals[day].add(found)
            last[index] = found
    for index, loan in enumerate(loans):
        if started[index] is not None:
            changes.start_periods.append(started[index])  # type: ignore[arg-type]
        found = last[index]
        was = (
            loan.previous_classification,
            loan.previous_days_past_due,
            loan.previous_outstanding,
        )
        if found is None:
            if loan.previous_classification is not None:
                changes.forget.append({"classified_loan_id": loan.loan_id})
            continue
        if was == (found.classification, found.days_past_due, found.outstanding):
            continue
        if loan.previous_classification is not None:
            changes.forget.append({"classified_loan_id": loan.loan_id})
        changes.classify.append(
            {
                "loan_id": loan.loan_id,
                "customer_id": loan.customer_id,
                "classification": found.classification,
                "days_past_due": found.days_past_due,
                "outstanding": found.outstanding,
            }
        )


async def close_days(
    loans: LoanService,
    portfolio: PortfolioService,
    until: date | None,
    today: date,
    progress: Progress,
) -> CloseReport:
    """Close every date after the last closed one up to `until` (yesterday by default)."""
    until = until or today - timedelta(days=1)
    for attempt in range(CLAIM_ATTEMPTS):
        try:
            return await _close(loans, portfolio, until, today, progress)
        except (Conflict, DatabaseUnavailable):
            # Another close took these dates (or, on SQLite, held the database): look again.
            if attempt == CLAIM_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


async def _close(
    loans: LoanService,
    portfolio: PortfolioService,
    until: date,
    today: date,
    progress: Progress,
) -> CloseReport:
    async with portfolio.transaction():
        latest = await portfolio.latest_closed()
        if latest is not None and until <= latest:
            if until >= today:
                dates_to_close(latest, until, today)  # refuses it
            return CloseReport(closed=[], latest_closed=latest)
        days = dates_to_close(latest, until, today)
        # Loans not touched since the previous close began keep the balance it recorded.
        unchanged_since = None if latest is None else await portfolio.closed_at(latest)
        await progress("claiming", 0)
        await portfolio.claim(days)
        await progress("reading payments", 0)
        later = await loans.later_payments(days[0])
        totals = {day: DayTotals() for day in days}
        changes = Changes()
        read = 0
        await progress("classifying", 0)
        low = 0
        while (first := await loans.next_borrower(low)) is not None:
            # A page is the customers with ids in (low, high], starting at the next borrower.
            low, high = first - 1, first - 1 + CUSTOMERS_PER_PAGE
            page = await loans.close_page(days[0], days[-1], (low, high), unchanged_since)
            low = high
            read += len(page)
            start = 0
            for end in range(1, len(page) + 1):
                if end == len(page) or page[end].customer_id != page[start].customer_id:
                    close_customer_days(page[start:end], later, days, totals, changes)
                    start = end
            if len(changes) >= FLUSH_AT:
                await progress("writing", read)
                await changes.write(portfolio)
            await progress("classifying", read)
        await progress("writing", read)
        await changes.write(portfolio)
        closed = await _write_totals(portfolio, totals)
        await progress("committing", read)
    await progress("done", read)
    return CloseReport(closed=closed, latest_closed=days[-1], loans_read=read)


async def _write_totals(
    portfolio: PortfolioService, totals: dict[date, DayTotals]
) -> list[Portfolio]:
    summaries: list[dict[str, Any]] = []
    day_rows: list[dict[str, Any]] = []
    report: list[Portfolio] = []
    for day, total in totals.items():
        by_class = [
            {"as_of": day, "classification": name, "loans": n, "outstanding": amount}
            for name, (n, amount) in total.by_class.items()
        ]
        row = {
            "as_of": day,
            "loans": sum(r["loans"] for r in by_class),
            "outstanding": sum((r["outstanding"] for r in by_class), ZERO),
            "outstanding_over_30": total.over_30,
            "outstanding_over_90": total.over_90,
        }
        summaries.extend(by_class)
        day_rows.append(
            {
                "day": day,
                "total_loans": row["loans"],
                "total_outstanding": row["outstanding"],
                "over_30": total.over_30,
                "over_90": total.over_90,
            }
        )
        report.append(Portfolio.of(row, by_class))
    await portfolio.execute_many(records.DAY_TOTALS, day_rows)
    await portfolio.execute_many(records.INSERT_SUMMARY, summaries)
    return report
