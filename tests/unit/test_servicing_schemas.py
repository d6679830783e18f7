"""The make-payment body: amounts become exact decimals or are refused, `paid_on` is optional."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
import pytest

from credit.lending.servicing import AmountNotInPaise
from credit.modules.loans.payment_schemas import PaymentRequest


def decode(body: bytes) -> PaymentRequest:
    return msgspec.json.decode(body, type=PaymentRequest)


def test_an_amount_becomes_exact_paise_and_paid_on_is_optional() -> None:
    request = decode(b'{"amount": 8884.88}')
    assert request.exact_amount() == Decimal("8884.88")
    assert request.paid_on is None
    dated = decode(b'{"amount": 5000, "paid_on": "2026-03-15"}')
    assert dated.exact_amount() == Decimal("5000.00")
    assert dated.paid_on == date(2026, 3, 15)


def test_more_than_two_decimals_is_refused_not_rounded() -> None:
    with pytest.raises(AmountNotInPaise) as refused:
        decode(b'{"amount": 100.005}').exact_amount()
    assert refused.value.field == "amount"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"amount": 0}', "$.amount"),
        (b'{"amount": -5}', "$.amount"),
        (b'{"amount": 20000000000}', "$.amount"),
        (b'{"amount": "5000"}', "$.amount"),
        (b'{"amount": 5000, "paid_on": "15/03/2026"}', "$.paid_on"),
        (b"{}", "amount"),
    ],
)
def test_bad_bodies_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field.replace("$", r"\$")):
        decode(body)
