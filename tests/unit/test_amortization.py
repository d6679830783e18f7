"""EMI, due dates, repayments left and the schedule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from credit.lending.amortization import (
    add_months,
    installments_due,
    monthly_installment,
    schedule,
    to_money,
)

D = Decimal


@pytest.mark.parametrize(
    ("principal", "rate", "tenure", "expected"),
    [
        # Known values: 1,00,000 at 12 % for 12 months is the textbook 8,884.88.
        (D(100000), D(12), 12, D("8884.88")),
        (D(100000), D(8), 12, D("8698.84")),
        (D(500000), D("10.5"), 60, D("10746.95")),
        (D(900000), D("8.2"), 129, D("10520.10")),
        (D(1000), D(0), 3, D("333.33")),
        (D(1200), D(0), 12, D("100.00")),
        (D(100000), D(100), 1, D("108333.33")),
    ],
)
def test_emi_known_values(
    principal: Decimal, rate: Decimal, tenure: int, expected: Decimal
) -> None:
    assert monthly_installment(principal, rate, tenure) == expected


def test_money_rounds_half_up_not_to_even() -> None:
    assert to_money(D("0.125")) == D("0.13")
    assert to_money(D("0.135")) == D("0.14")
    assert to_money(D("2.675")) == D("2.68")
    # 1,000 over 8 months at 0 % is exactly 125.00; 1,001 is 125.125 -> 125.13.
    assert monthly_installment(D(1001), D(0), 8) == D("125.13")


def test_emi_rejects_zero_tenure() -> None:
    with pytest.raises(ValueError, match="tenure"):
        monthly_installment(D(1000), D(10), 0)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year clamp
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 1, 31), 2, date(2024, 3, 31)),  # back to the 31st, not stuck on 29
        (date(2024, 3, 31), 1, date(2024, 4, 30)),
        (date(2024, 11, 15), 2, date(2025, 1, 15)),  # year wrap
        (date(2024, 5, 10), 0, date(2024, 5, 10)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_installments_due_counts_due_dates_on_or_before_today() -> None:
    start = date(2025, 1, 15)
    assert installments_due(start, 12, date(2025, 1, 15)) == 0
    assert installments_due(start, 12, date(2025, 2, 14)) == 0
    assert installments_due(start, 12, date(2025, 2, 15)) == 1  # due today counts as due
    assert installments_due(start, 12, date(2026, 6, 1)) == 12  # never more than tenure
    assert installments_due(start, 12, date(2024, 6, 1)) == 0  # a loan starting later


def test_installments_due_on_a_clamped_month_end() -> None:
    start = date(2025, 1, 31)
    assert installments_due(start, 6, date(2025, 2, 27)) == 0
    assert installments_due(start, 6, date(2025, 2, 28)) == 1  # 31 Jan + 1 month = 28 Feb


def test_schedule_principal_sums_to_amount_and_ends_at_zero() -> None:
    rows = schedule(D(500000), D("10.5"), 60, date(2025, 1, 31))
    assert len(rows) == 60
    assert sum(r.principal for r in rows) == D(500000)
    assert rows[-1].balance == D(0)
    assert rows[0].due_date == date(2025, 2, 28)
    assert rows[0].interest == D("4375.00")  # 500000 x 10.5 % / 12
    assert all(r.emi == D("10746.95") for r in rows[:-1])
    assert all(r.emi == r.interest + r.principal for r in rows)
    # The last installment absorbs the rounding drift: within a few paise of the EMI.
    assert abs(rows[-1].emi - D("10746.95")) < D("1.00")


def test_schedule_at_zero_rate() -> None:
    rows = schedule(D(1000), D(0), 3, date(2025, 1, 1))
    assert [r.principal for r in rows] == [D("333.33"), D("333.33"), D("333.34")]
    assert [r.interest for r in rows] == [D(0)] * 3
