"""Reversals through the API, on both databases: the loan of docs/servicing-example.md
(1,00,000 at 12 % for 12 months from 2026-01-15), "today" 2026-06-01."""

from __future__ import annotations

from datetime import date

import pytest

from credit.settings import Settings
from tests.integration.test_api_servicing import Client, example_loan, pay


@pytest.fixture
def today() -> date:
    return date(2026, 6, 1)


async def reverse(client: Client, customer: int, loan: int, payment: int, **headers: str):
    return await client.post(
        f"/api/reverse-payment/{customer}/{loan}/{payment}",
        json={"reason": "mandate debit returned: insufficient funds"},
        headers=headers,
    )


async def test_only_the_latest_payment_is_reversed_and_the_state_comes_back(
    client: Client, settings: Settings
) -> None:
    customer, loan = await example_loan(client, settings)
    first = (await pay(client, customer, loan, amount=8884.88, paid_on="2026-02-05")).json()
    before = (await client.get(f"/api/view-statement/{customer}/{loan}")).json()
    short = (await pay(client, customer, loan, amount=5000, paid_on="2026-03-15")).json()
    assert short["monthly_installment"] == 9295.05  # the EMI was recalculated

    not_latest = await reverse(client, customer, loan, first["payment_id"])
    assert not_latest.status_code == 409, not_latest.text
    assert not_latest.json()["extra"] == {"latest_payment_id": short["payment_id"]}
    assert (await reverse(client, customer, loan, 999_999)).status_code == 404
    other_customer = await reverse(client, customer + 1, loan, short["payment_id"])
    assert other_customer.status_code == 404

    reversed_ = await reverse(
        client, customer, loan, short["payment_id"], **{"Idempotency-Key": "r1"}
    )
    assert reversed_.status_code == 200, reversed_.text
    statement = reversed_.json()
    # Exactly as before the payment: B, s, e; the payment kept, marked, counted nowhere.
    for name in ("amount_paid", "monthly_installment", "repayments_left", "outstanding_principal"):
        assert statement[name] == before[name], name
    assert [p["reversed"] for p in statement["payments"]] == [False, True]
    assert statement["payments"][1]["reversed_on"] == "2026-06-01"
    assert (
        statement["payments"][1]["reversal_reason"] == "mandate debit returned: insufficient funds"
    )
    assert statement["payments"][0]["reference"] is None
    # A retry with the key answers the same and reverses nothing twice.
    again = await reverse(client, customer, loan, short["payment_id"], **{"Idempotency-Key": "r1"})
    assert again.status_code == 200
    assert again.json() == statement
    # Reversed again without the key: it is no longer the latest standing payment.
    assert (await reverse(client, customer, loan, short["payment_id"])).status_code == 409
    # The installment can be settled again.
    redo = await pay(client, customer, loan, amount=8884.88, paid_on="2026-03-15")
    assert redo.status_code == 201
    assert redo.json()["installment"] == 2


async def test_reversing_the_payment_that_closed_a_loan_makes_it_current_again(
    client: Client, settings: Settings
) -> None:
    customer, loan = await example_loan(client, settings)
    await pay(client, customer, loan, amount=8884.88, paid_on="2026-02-05")
    payoff = (await client.get(f"/api/view-statement/{customer}/{loan}")).json()
    closing = await pay(client, customer, loan, amount=93036.27, paid_on="2026-03-01")
    assert closing.status_code == 201, closing.text
    assert closing.json()["repayments_left"] == 0
    assert (await client.get(f"/api/view-loans/{customer}")).json() == []

    reversed_ = await reverse(client, customer, loan, closing.json()["payment_id"])
    assert reversed_.status_code == 200, reversed_.text
    after = reversed_.json()
    assert after["outstanding_principal"] == payoff["outstanding_principal"] == 92115.12
    assert after["repayments_left"] == 11
    assert after["monthly_installment"] == 8884.88
    loan_view = (await client.get(f"/api/view-loan/{loan}")).json()
    assert loan_view["status"] == "current"
    current = (await client.get(f"/api/view-loans/{customer}")).json()
    assert [c["loan_id"] for c in current] == [loan]
    profile = (await client.get(f"/api/customers/{customer}")).json()
    assert profile["current_debt"] == 92115.12
