"""The one aggregate query behind every credit decision.

For one customer it returns, in a single statement, their income and limit and the sums over
their loans that scoring and the policy need. "Installments due so far" is month arithmetic
done in SQL with `EXTRACT` (portable: SQLAlchemy renders it for PostgreSQL and SQLite) and
matches `amortization.installments_due` exactly.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, and_, case, extract, func, literal, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from credit.modules.credit.scoring import CreditHistory
from credit.modules.customers.models import Customer
from credit.modules.loans.models import Loan

ZERO = Decimal(0)


@dataclass(frozen=True)
class CustomerBook:
    customer_id: int
    monthly_income: Decimal
    approved_limit: Decimal
    current_emis: Decimal
    history: CreditHistory


def installments_due_sql(today: date) -> Any:
    months = (today.year * 12 + today.month) - (
        extract("year", Loan.start_date) * 12 + extract("month", Loan.start_date)
    )
    month_end = today.day == calendar.monthrange(today.year, today.month)[1]
    # The installment of this month is not yet due when its day is still ahead (and today is
    # not the month's last day, where a clamped due date lands).
    not_yet = (
        literal(0) if month_end else case((extract("day", Loan.start_date) > today.day, 1), else_=0)
    )
    due = type_coerce(months - not_yet, Integer)
    return case((due < 0, 0), (due > Loan.tenure, Loan.tenure), else_=due)


def book_query(customer_id: int, today: date) -> Any:
    current = Loan.end_date > today
    with_history = Loan.emis_paid_on_time.is_not(None)
    return (
        select(
            Customer.id,
            Customer.monthly_income,
            Customer.approved_limit,
            func.count(Loan.id),
            func.sum(case((with_history, installments_due_sql(today)))),
            func.sum(Loan.emis_paid_on_time),
            func.sum(
                case((and_(Loan.start_date >= date(today.year, 1, 1), Loan.start_date <= today), 1))
            ),
            func.sum(Loan.loan_amount),
            func.sum(case((current, Loan.loan_amount))),
            func.sum(case((current, Loan.monthly_installment))),
        )
        .select_from(Customer)
        .outerjoin(Loan, Loan.customer_id == Customer.id)
        .where(Customer.id == customer_id)
        .group_by(Customer.id, Customer.monthly_income, Customer.approved_limit)
    )


async def customer_book(
    session: AsyncSession, customer_id: int, today: date
) -> CustomerBook | None:
    row = (await session.execute(book_query(customer_id, today))).one_or_none()
    if row is None:
        return None
    (cid, income, limit, taken, due, paid, this_year, volume, current_amount, current_emis) = row
    return CustomerBook(
        customer_id=cid,
        monthly_income=income,
        approved_limit=limit,
        current_emis=current_emis or ZERO,
        history=CreditHistory(
            approved_limit=limit,
            loans_taken=taken,
            emis_due=int(due or 0),
            emis_paid_on_time=int(paid or 0),
            loans_this_year=int(this_year or 0),
            approved_volume=volume or ZERO,
            current_loans_amount=current_amount or ZERO,
        ),
    )
