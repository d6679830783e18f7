"""Loan arithmetic: EMI, due dates, repayment schedule and what is left to repay.

Pure functions over `Decimal` and `date`. Money is rounded half up to paise only where a value
is stored or shown; intermediate powers are computed at 40 significant digits.
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

import msgspec

PAISA = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")


def to_money(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_UP)


def to_rate(value: Decimal) -> Decimal:
    """Yearly rates are kept to four decimals (10.1234 %)."""
    return value.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    """A rate or amount as people write it: 12 not 12.0000, 10.5 not 10.5000."""
    return format(value.normalize(), "f")


def monthly_rate(yearly_percent: Decimal) -> Decimal:
    return yearly_percent / 12 / 100


def monthly_installment(principal: Decimal, yearly_percent: Decimal, tenure: int) -> Decimal:
    """EMI with monthly compounding: P·r·(1+r)^n / ((1+r)^n - 1); P/n when the rate is 0."""
    if tenure < 1:
        raise ValueError("tenure must be at least one month")
    with localcontext() as ctx:
        ctx.prec = 40
        r = monthly_rate(yearly_percent)
        if r == 0:
            return to_money(principal / tenure)
        growth = (1 + r) ** tenure
        return to_money(principal * r * growth / (growth - 1))


class PastTheCalendar(ValueError):
    """A date after 31 December 9999 (or before year 1), which no date type can hold: a loan
    that would end there is refused, naming its tenure."""

    field = "tenure"

    def __init__(self, start: date, months: int) -> None:
        self.detail = (
            f"A loan of {months} months from {start.isoformat()} would end after "
            f"{date.max.isoformat()}, past the calendar; ask for a shorter tenure."
        )
        super().__init__(self.detail)


def add_months(start: date, months: int) -> date:
    """Same day of month `months` later, clamped to that month's last day (31 Jan + 1 -> 28 Feb)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if not date.min.year <= year <= date.max.year:
        raise PastTheCalendar(start, months)
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def installments_due(start: date, tenure: int, today: date) -> int:
    """How many installments have fallen due on or before `today` (0..tenure)."""
    months = (today.year - start.year) * 12 + today.month - start.month
    if months > 0 and add_months(start, months) > today:
        months -= 1
    return max(0, min(tenure, months))


class Installment(msgspec.Struct, frozen=True):
    number: int
    due_date: date
    emi: Decimal
    interest: Decimal
    principal: Decimal
    balance: Decimal


def schedule(
    principal: Decimal, yearly_percent: Decimal, tenure: int, start: date
) -> list[Installment]:
    """The repayment schedule at the formula EMI.

    Interest is charged on the opening balance at the monthly rate, rounded to paise; the last
    installment takes whatever principal is left so the principal parts sum to the loan amount
    exactly and the final balance is 0.
    """
    emi = monthly_installment(principal, yearly_percent, tenure)
    r = monthly_rate(yearly_percent)
    balance = principal
    rows: list[Installment] = []
    for number in range(1, tenure + 1):
        interest = to_money(balance * r)
        part = balance if number == tenure else min(emi - interest, balance)
        balance -= part
        rows.append(
            Installment(number, add_months(start, number), interest + part, interest, part, balance)
        )
    return rows
