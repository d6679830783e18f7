"""Idempotent means the same answer: concurrent retries with one `Idempotency-Key`.

Thirty identical make-payment requests, sent at once over a real socket: one payment is
stored, and every answer is that payment's receipt. Before, the duplicates that queued behind
the first were judged on the state it had created: 9 to 14 of them answered `422 above the
payoff` or `409 paid off`, telling a client that retried after a timeout that the payment
which went through had been refused. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
import pytest

from credit.app import create_app
from credit.clock import FixedClock
from credit.modules.loans.models import Payment
from credit.settings import Settings
from tests.integration.book import PastLoan, seed_loans
from tests.integration.figures import record
from tests.integration.test_api_customers import applicant
from tests.integration.test_api_invariants import live_server
from tests.integration.test_idempotency import count

DUPLICATES = 30


@pytest.mark.parametrize(
    ("amount", "closes"),
    [(60_000, False), (101_000, True)],  # more than half the balance; exactly the payoff
)
async def test_concurrent_retries_of_a_payment_all_get_its_receipt(
    settings: Settings, today: date, amount: int, closes: bool
) -> None:
    async with (
        live_server(create_app(settings, clock=FixedClock(today))) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=60) as http,
    ):
        registered = await http.post("/api/register", json=applicant(monthly_income=200_000))
        customer_id = registered.json()["customer_id"]
        # 100,000 at 12 % a year: the first installment's interest is 1,000, the payoff 101,000.
        (loan_id,) = await seed_loans(
            settings.database_url,
            customer_id,
            [PastLoan(100_000, "12", 12, today - timedelta(days=20), loaded_on=None)],
        )
        path = f"/api/make-payment/{customer_id}/{loan_id}"
        answers = await asyncio.gather(
            *(
                http.post(path, json={"amount": amount}, headers={"Idempotency-Key": "pay-1"})
                for _ in range(DUPLICATES)
            )
        )
        statement = (await http.get(f"/api/view-statement/{customer_id}/{loan_id}")).json()
    assert [a.status_code for a in answers] == [201] * DUPLICATES, {
        a.status_code: a.text for a in answers if a.status_code != 201
    }
    assert len({a.text for a in answers}) == 1
    receipt = answers[0].json()
    assert receipt["repayments_left"] == (0 if closes else 11)
    assert await count(settings.database_url, Payment.__table__) == 1
    assert [p["payment_id"] for p in statement["payments"]] == [receipt["payment_id"]]
    record(
        f"idempotent-race-{amount}-{'sqlite' if settings.is_embedded else 'postgres'}",
        requests=DUPLICATES,
        answers_201=sum(a.status_code == 201 for a in answers),
        distinct_answers=len({a.text for a in answers}),
        payments_stored=1,
    )
