"""The last installment absorbs the EMI's rounding; docs/decisions.md quotes how much."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from credit.lending.amortization import monthly_installment, schedule

DECISIONS = Path(__file__).resolve().parents[2] / "docs" / "decisions.md"


@pytest.mark.parametrize(
    ("tenure", "difference", "quoted"),
    [(12, "-0.03", "0.03 less"), (360, "8.17", "8.17 more"), (600, "16.82", "16.82")],
)
def test_last_installment_difference_is_the_one_documented(
    tenure: int, difference: str, quoted: str
) -> None:
    principal, rate = Decimal(100_000), Decimal(12)
    rows = schedule(principal, rate, tenure, date(2025, 1, 1))
    emi = monthly_installment(principal, rate, tenure)
    assert rows[-1].emi - emi == Decimal(difference)
    assert sum(row.principal for row in rows) == principal
    text = " ".join(DECISIONS.read_text().split())
    assert quoted in text
    assert "by a few paise" not in text  # the claim that was wrong for long loans
