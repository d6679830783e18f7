"""How the console writes numbers and dates: rupees with Indian digit grouping (`1,00,000.00`,
lakhs and crores) and dates as `15 Jan 2026`. Jinja filters, registered by the plugin."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

PAISA = Decimal("0.01")


def indian_grouping(digits: str) -> str:
    """`1234567` -> `12,34,567`: the last three digits, then groups of two."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join([*groups, tail])


def rupees(value: Any, places: int = 2) -> str:
    """An amount as `1,00,000.00` (rounded half up to the paisa); `places=0` for whole rupees."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value))
    exponent = PAISA if places else Decimal(1)
    amount = amount.quantize(exponent, rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):f}".partition(".")
    text = indian_grouping(whole)
    return f"{sign}{text}.{fraction}" if places else f"{sign}{text}"


def day(value: Any) -> str:
    """A date as `15 Jan 2026` (a timestamp by its date)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.day} {value:%b %Y}"


def percent(value: Any, places: int = 2) -> str:
    """A ratio (0.0123) as a percentage (`1.23 %`)."""
    if value is None:
        return ""
    share = (Decimal(str(value)) * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return f"{share} %"


def rate(value: Any) -> str:
    """A yearly rate as `16.5 %` (no trailing zeros)."""
    if value is None:
        return ""
    text = f"{Decimal(str(value)):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} %"


FILTERS = {"rupees": rupees, "day": day, "percent": percent, "rate": rate}
