"""The close of day's statements over its records: the closed dates, the portfolio summary,
each loan's figures at the latest close and the classification periods. Each is built once;
the writes run as `executemany` batches, never a statement per loan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Date, bindparam, delete, func, insert, select, update

from credit.modules.loans.api import (
    CLASSIFICATION_PERIODS,
    CLOSED_DAYS,
    LOAN_CLASSIFICATIONS,
    PORTFOLIO_DAYS,
)

PERIODS = CLASSIFICATION_PERIODS
LATEST_CLOSED = select(func.max(CLOSED_DAYS.c.as_of).label("as_of"))

# Claiming a date: its row first, so a second close at the same time waits on it and then
# finds it taken (the primary key).
CLAIM_DAY = insert(CLOSED_DAYS).values(
    as_of=bindparam("day", type_=Date),
    closed_at=bindparam("closed_at", type_=CLOSED_DAYS.c.closed_at.type),
)
DAY_TOTALS = (
    update(CLOSED_DAYS)
    .where(CLOSED_DAYS.c.as_of == bindparam("day", type_=Date))
    .values(
        loans=bindparam("total_loans"),
        outstanding=bindparam("total_outstanding", type_=CLOSED_DAYS.c.outstanding.type),
        outstanding_over_30=bindparam("over_30", type_=CLOSED_DAYS.c.outstanding.type),
        outstanding_over_90=bindparam("over_90", type_=CLOSED_DAYS.c.outstanding.type),
    )
)
INSERT_SUMMARY = insert(PORTFOLIO_DAYS)

CLOSED_DAY = select(CLOSED_DAYS).where(CLOSED_DAYS.c.as_of == bindparam("day", type_=Date))
DAY_SUMMARY = select(PORTFOLIO_DAYS).where(PORTFOLIO_DAYS.c.as_of == bindparam("day", type_=Date))
LATEST_SUMMARY = select(PORTFOLIO_DAYS).where(
    PORTFOLIO_DAYS.c.as_of == LATEST_CLOSED.scalar_subquery()
)

# A loan's figures at the latest close: rewritten (deleted, inserted) when they change, deleted
# when a close no longer finds the loan.
FORGET_LOAN = delete(LOAN_CLASSIFICATIONS).where(
    LOAN_CLASSIFICATIONS.c.loan_id == bindparam("classified_loan_id")
)
CLASSIFY_LOAN = insert(LOAN_CLASSIFICATIONS)

# Periods: the open one ended the day before the class changed; new ones inserted.
END_PERIOD = (
    update(PERIODS)
    .where(PERIODS.c.loan_id == bindparam("period_loan_id"))
    .where(PERIODS.c.to_date.is_(None))
    .values(to_date=bindparam("ended_on", type_=Date))
)
START_PERIOD = insert(PERIODS)

# The latest closed dates (bind `days`), newest first, each with its NPA outstanding: the
# console's chart of the portfolio over the closed days.
RECENT_DAYS = (
    select(
        CLOSED_DAYS.c.as_of,
        CLOSED_DAYS.c.loans,
        CLOSED_DAYS.c.outstanding,
        CLOSED_DAYS.c.outstanding_over_30,
        CLOSED_DAYS.c.outstanding_over_90,
        PORTFOLIO_DAYS.c.outstanding.label("npa_outstanding"),
    )
    .outerjoin(
        PORTFOLIO_DAYS,
        (PORTFOLIO_DAYS.c.as_of == CLOSED_DAYS.c.as_of)
        & (PORTFOLIO_DAYS.c.classification == "NPA"),
    )
    .order_by(CLOSED_DAYS.c.as_of.desc())
    .limit(bindparam("days"))
)

LOAN_HISTORY = (
    select(PERIODS.c.classification, PERIODS.c.from_date, PERIODS.c.to_date)
    .where(PERIODS.c.loan_id == bindparam("loan_id"))
    .order_by(PERIODS.c.from_date, PERIODS.c.id)
)


def rows(result: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in result]
