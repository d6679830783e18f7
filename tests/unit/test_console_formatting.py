"""The console writes rupees with Indian digit grouping and dates as `15 Jan 2026`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from credit.modules.console.charts import line_chart
from credit.modules.console.formatting import day, rate, rupees


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0, "0.00"),
        (999, "999.00"),
        (1000, "1,000.00"),
        (100000, "1,00,000.00"),
        (Decimal("1234567.891"), "12,34,567.89"),
        (Decimal("0.005"), "0.01"),  # half up
        (Decimal("-2500000"), "-25,00,000.00"),
        (Decimal("123456789012"), "1,23,45,67,89,012.00"),
    ],
)
def test_rupees_are_grouped_the_indian_way(amount: Decimal | int, shown: str) -> None:
    assert rupees(amount) == shown


def test_whole_rupees_and_rates() -> None:
    assert rupees(Decimal("5400000"), 0) == "54,00,000"
    assert rate(Decimal("16.5000")) == "16.5 %"
    assert rate(Decimal("12")) == "12 %"


def test_dates_read_like_a_letter() -> None:
    assert day(date(2026, 1, 15)) == "15 Jan 2026"
    assert day(datetime(2026, 3, 5, 23, 0)) == "5 Mar 2026"
    assert day("2025-06-15") == "15 Jun 2025"


def test_the_balance_chart_runs_from_the_amount_to_zero() -> None:
    chart = line_chart(
        [(date(2025, 2, 1), Decimal(50), True), (date(2025, 3, 1), Decimal(0), False)],
        start=(date(2025, 1, 1), Decimal(100)),
    )
    first, last = chart.points[0], chart.points[-1]
    assert first.y < last.y  # the top of the picture is the largest balance
    assert first.x < last.x
    assert [p.settled for p in chart.points] == [True, True, False]
