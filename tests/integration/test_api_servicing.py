"""Servicing through the HTTP API, on both databases: make-payment, view-statement, and every
read that follows the payments (view-loans, the profile, the schedule, the credit score).

The loan is the one of docs/servicing-example.md: 1,00,000 at 12 % for 12 months from
2026-01-15 (EMI 8,884.88), booked and not yet paid; "today" is 2026-06-01.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.settings import Settings
from tests.integration.book import PastLoan, seed_loans
from tests.integration.test_api_invariants import live_server
from tests.integration.test_api_loans import register

Client = AsyncTestClient[Litestar]
START = date(2026, 1, 15)
EXAMPLE_LOAN = PastLoan(100_000, "12", 12, START, loaded_on=None)


@pytest.fixture
def today() -> date:
    return date(2026, 6, 1)


async def example_loan(client: Client, settings: Settings, phone: int = 9_876_543_210) -> tuple:
    customer_id = await register(client, income=100_000, phone=phone)
    (loan_id,) = await seed_loans(settings.database_url, customer_id, [EXAMPLE_LOAN])
    return customer_id, loan_id


async def pay(client: Client, customer_id: int, loan_id: int, **body: Any) -> httpx.Response:
    return await client.post(f"/api/make-payment/{customer_id}/{loan_id}", json=body)


async def test_worked_example_early_short_and_late(client: Client, settings: Settings) -> None:
    customer_id, loan_id = await example_loan(client, settings)
    early = await pay(client, customer_id, loan_id, amount=8884.88, paid_on="2026-02-05")
    # With a trailing slash too.
    short = await client.post(
        f"/api/make-payment/{customer_id}/{loan_id}/",
        json={"amount": 5000, "paid_on": "2026-03-15"},
    )
    late = await pay(client, customer_id, loan_id, amount=9295.05, paid_on="2026-04-25")
    assert [r.status_code for r in (early, short, late)] == [201, 201, 201], late.text
    assert early.json() == {
        "payment_id": early.json()["payment_id"],
        "customer_id": customer_id,
        "loan_id": loan_id,
        "installment": 1,
        "paid_on": "2026-02-05",
        "amount": 8884.88,
        "interest": 1000.0,
        "principal": 7884.88,
        "balance": 92115.12,
        "on_time": True,
        "monthly_installment": 8884.88,
        "repayments_left": 11,
    }
    assert short.json() | {"payment_id": 0} == {
        "payment_id": 0,
        "customer_id": customer_id,
        "loan_id": loan_id,
        "installment": 2,
        "paid_on": "2026-03-15",
        "amount": 5000.0,
        "interest": 921.15,
        "principal": 4078.85,
        "balance": 88036.27,
        "on_time": True,
        "monthly_installment": 9295.05,  # recalculated over the 10 installments left
        "repayments_left": 10,
    }
    assert late.json()["on_time"] is False
    assert late.json()["balance"] == 79621.58

    for path in (
        f"/api/view-statement/{customer_id}/{loan_id}",
        f"/api/view-statement/{customer_id}/{loan_id}/",
    ):
        statement = await client.get(path)
        assert statement.status_code == 200, statement.text
        body = statement.json()
        assert {k: v for k, v in body.items() if k != "payments"} == {
            "customer_id": customer_id,
            "loan_id": loan_id,
            "principal": 100000.0,
            "interest_rate": 12.0,
            "amount_paid": 23179.93,
            "monthly_installment": 9295.05,
            "repayments_left": 9,
            "outstanding_principal": 79621.58,
            "next_due_date": "2026-05-15",
            "overdue_installments": 1,
            "days_past_due": 17,
            # Nothing closed yet (the close of day).
            "classification": None,
            "classified_on": None,
            "classified_days_past_due": None,
        }
        assert [p["installment"] for p in body["payments"]] == [1, 2, 3]
        assert [p["on_time"] for p in body["payments"]] == [True, True, False]
        assert body["payments"][1]["payment_id"] == short.json()["payment_id"]

    # Every read follows the payments.
    current = (await client.get(f"/api/view-loans/{customer_id}")).json()
    assert current == [
        {
            "loan_id": loan_id,
            "loan_amount": 100000.0,
            "interest_rate": 12.0,
            "monthly_installment": 9295.05,
            "repayments_left": 9,
        }
    ]
    profile = (await client.get(f"/api/customers/{customer_id}")).json()
    assert profile["current_debt"] == 79621.58
    assert profile["current_emis"] == 9295.05
    schedule = (await client.get(f"/api/loans/{loan_id}/schedule")).json()
    lines = schedule["installments"]
    assert len(lines) == 12
    assert lines[1] == {
        "number": 2,
        "due_date": "2026-03-15",
        "emi": 5000.0,
        "interest": 921.15,
        "principal": 4078.85,
        "balance": 88036.27,
        "settled_by": "payment",
        "payment_id": short.json()["payment_id"],
        "paid_on": "2026-03-15",
        "on_time": True,
    }
    assert lines[3]["due_date"] == "2026-05-15"
    assert "settled_by" not in lines[3]
    assert lines[3]["interest"] == 796.22  # 1 % of 79,621.58, half up
    assert lines[-1]["balance"] == 0
    assert round(sum(line["principal"] for line in lines), 2) == 100_000
    # Four installments due by 1 Jun (the fourth overdue), two of them paid on time.
    score = (await client.get(f"/api/customers/{customer_id}/credit-score")).json()
    parts = {c["name"]: c["value"] for c in score["components"]}
    assert parts["paid_on_time"] == 0.5


async def test_refusals_name_the_figure_and_write_nothing(
    client: Client, settings: Settings
) -> None:
    customer_id, loan_id = await example_loan(client, settings)
    assert (
        await pay(client, customer_id, loan_id, amount=8884.88, paid_on="2026-02-05")
    ).status_code == 201
    before = (await client.get(f"/api/view-statement/{customer_id}/{loan_id}")).json()

    under = await pay(client, customer_id, loan_id, amount=921.14, paid_on="2026-03-01")
    assert under.status_code == 422
    assert "921.15" in under.json()["detail"]  # the installment's interest
    assert under.json()["extra"][0]["key"] == "amount"
    over = await pay(client, customer_id, loan_id, amount=93036.28, paid_on="2026-03-01")
    assert over.status_code == 422
    assert "93036.27" in over.json()["detail"]  # the payoff: 92,115.12 + 921.15
    paise = await pay(client, customer_id, loan_id, amount=100.005)
    assert paise.status_code == 422
    assert paise.json()["extra"][0]["key"] == "amount"
    for paid_on, why in (
        ("2026-06-02", "after today"),
        ("2026-01-14", "before the loan's start"),
        ("2026-02-04", "before the loan's last payment"),
    ):
        refused = await pay(client, customer_id, loan_id, amount=8884.88, paid_on=paid_on)
        assert refused.status_code == 422, paid_on
        assert why in refused.json()["detail"]
        assert refused.json()["extra"][0]["key"] == "paid_on"
    for body in ({"amount": 0}, {"amount": -5}, {"amount": "lots"}, {"paid_on": "2026-03-01"}):
        malformed = await pay(client, customer_id, loan_id, **body)
        assert malformed.status_code == 400, body
    bad_date = await pay(client, customer_id, loan_id, amount=100, paid_on="2026-02-30")
    assert bad_date.status_code == 400
    assert "paid_on" in bad_date.text

    other = await register(client, phone=9_000_000_009)
    assert (await pay(client, other, loan_id, amount=8884.88)).status_code == 404
    assert (await pay(client, customer_id, 424242, amount=8884.88)).status_code == 404
    assert (await client.get(f"/api/view-statement/{other}/{loan_id}")).status_code == 404
    assert (await client.get(f"/api/view-statement/424242/{loan_id}")).status_code == 404
    assert (await client.get(f"/api/view-statement/{customer_id}/424242")).status_code == 404

    after = (await client.get(f"/api/view-statement/{customer_id}/{loan_id}")).json()
    assert after == before


async def test_exactly_the_payoff_closes_the_loan(client: Client, settings: Settings) -> None:
    customer_id, loan_id = await example_loan(client, settings)
    # Default paid_on: today (2026-06-01), after installment 1's due date: late.
    payoff = await pay(client, customer_id, loan_id, amount=101_000)
    assert payoff.status_code == 201, payoff.text
    assert payoff.json() | {"payment_id": 0} == {
        "payment_id": 0,
        "customer_id": customer_id,
        "loan_id": loan_id,
        "installment": 1,
        "paid_on": "2026-06-01",
        "amount": 101000.0,
        "interest": 1000.0,
        "principal": 100000.0,
        "balance": 0.0,
        "on_time": False,
        "monthly_installment": 0.0,
        "repayments_left": 0,
    }
    closed = await pay(client, customer_id, loan_id, amount=1)
    assert closed.status_code == 409
    assert "paid off" in closed.json()["detail"]
    statement = (await client.get(f"/api/view-statement/{customer_id}/{loan_id}")).json()
    assert statement["repayments_left"] == 0
    assert statement["next_due_date"] is None
    assert statement["overdue_installments"] == 0
    assert statement["amount_paid"] == 101000.0
    # Paid off early: no longer current, whatever its end date.
    assert (await client.get(f"/api/view-loans/{customer_id}")).json() == []
    profile = (await client.get(f"/api/customers/{customer_id}")).json()
    assert profile["current_debt"] == 0
    assert profile["current_emis"] == 0
    schedule = (await client.get(f"/api/loans/{loan_id}/schedule")).json()
    assert len(schedule["installments"]) == 1


async def test_the_last_installment_must_be_the_payoff(client: Client, settings: Settings) -> None:
    customer_id = await register(client)
    (loan_id,) = await seed_loans(
        settings.database_url, customer_id, [PastLoan(10_000, "12", 2, START, loaded_on=None)]
    )
    first = await pay(client, customer_id, loan_id, amount=5075.12, paid_on="2026-02-15")
    assert first.status_code == 201, first.text
    payoff = round(first.json()["balance"] * 1.01, 2)
    short = await pay(client, customer_id, loan_id, amount=payoff - 1, paid_on="2026-03-15")
    assert short.status_code == 422
    assert f"{payoff:.2f}" in short.json()["detail"]
    last = await pay(client, customer_id, loan_id, amount=payoff, paid_on="2026-03-15")
    assert last.status_code == 201, last.text
    assert last.json()["balance"] == 0
    assert last.json()["repayments_left"] == 0


async def test_a_late_payer_scores_lower_than_a_punctual_one(
    client: Client, settings: Settings
) -> None:
    punctual, punctual_loan = await example_loan(client, settings, phone=9_100_000_001)
    late, late_loan = await example_loan(client, settings, phone=9_100_000_002)
    silent, _ = await example_loan(client, settings, phone=9_100_000_003)
    for due in ("2026-02-15", "2026-03-15", "2026-04-15", "2026-05-15"):
        ok = await pay(client, punctual, punctual_loan, amount=8884.88, paid_on=due)
        assert ok.status_code == 201, ok.text
    for paid_on in ("2026-02-25", "2026-03-25", "2026-04-25", "2026-05-25"):
        ok = await pay(client, late, late_loan, amount=8884.88, paid_on=paid_on)
        assert ok.status_code == 201, ok.text
        assert ok.json()["on_time"] is False

    async def components(customer_id: int) -> tuple[int, dict[str, float]]:
        body = (await client.get(f"/api/customers/{customer_id}/credit-score")).json()
        return body["credit_score"], {c["name"]: c["value"] for c in body["components"]}

    punctual_score, punctual_parts = await components(punctual)
    late_score, late_parts = await components(late)
    silent_score, silent_parts = await components(silent)
    # Four installments due by 2026-06-01: all paid on time, all paid late, none paid.
    assert punctual_parts["paid_on_time"] == 1.0
    assert late_parts["paid_on_time"] == 0.0
    assert silent_parts["paid_on_time"] == 0.0
    assert late_score < punctual_score
    assert silent_score < punctual_score
    # The rest of the history is the same: only paying on time differs.
    for name in ("loans_taken", "current_year_activity", "approved_volume"):
        assert punctual_parts[name] == late_parts[name] == silent_parts[name]
    # The booking's limit follows payments too: a paid-off loan frees the limit.
    profile = (await client.get(f"/api/customers/{punctual}")).json()
    assert profile["current_emis"] == 8884.88


async def test_concurrent_payments_settle_one_installment_each(
    settings: Settings, today: date
) -> None:
    async with (
        live_server(create_app(settings, clock=FixedClock(today))) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=60) as http,
    ):
        registered = await http.post(
            "/api/register",
            json={
                "first_name": "Many",
                "last_name": "Payments",
                "age": 40,
                "monthly_income": 100_000,
                "phone_number": 9_300_000_000,
            },
        )
        customer_id = registered.json()["customer_id"]
        (loan_id,) = await seed_loans(
            settings.database_url,
            customer_id,
            [PastLoan(100_000, "12", 24, date(2024, 1, 15), loaded_on=None)],
        )
        responses = await asyncio.gather(
            *(
                http.post(f"/api/make-payment/{customer_id}/{loan_id}", json={"amount": 4707.35})
                for _ in range(20)
            )
        )
        statement = (await http.get(f"/api/view-statement/{customer_id}/{loan_id}")).json()
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    settled = sorted(r.json()["installment"] for r in responses)
    assert settled == list(range(1, 21))  # no gap, no installment twice
    payments = statement["payments"]
    assert [p["installment"] for p in payments] == list(range(1, 21))
    balances = [p["balance"] for p in payments]
    assert balances == sorted(balances, reverse=True)
    assert all(b >= 0 for b in balances)
    assert statement["repayments_left"] == 4
    assert statement["outstanding_principal"] == balances[-1]


async def test_paying_the_emi_on_every_due_date_reproduces_the_schedule(
    client: Client, settings: Settings
) -> None:
    customer_id = await register(client)
    (loan_id,) = await seed_loans(
        settings.database_url,
        customer_id,
        [PastLoan(250_000, "10.5", 12, date(2025, 6, 1), loaded_on=None)],
    )
    planned = (await client.get(f"/api/loans/{loan_id}/schedule")).json()["installments"]
    receipts = []
    for line in planned:
        paid = await pay(client, customer_id, loan_id, amount=line["emi"], paid_on=line["due_date"])
        assert paid.status_code == 201, paid.text
        receipts.append(paid.json())
    assert [
        {k: r[k] for k in ("installment", "amount", "interest", "principal", "balance")}
        for r in receipts
    ] == [
        {
            "installment": line["number"],
            "amount": line["emi"],
            "interest": line["interest"],
            "principal": line["principal"],
            "balance": line["balance"],
        }
        for line in planned
    ]
    assert all(r["on_time"] for r in receipts)
    # The EMI never changed until the payoff, which closed the loan at 0.
    assert {r["monthly_installment"] for r in receipts[:-1]} == {planned[0]["emi"]}
    assert receipts[-1]["balance"] == 0
    assert receipts[-1]["repayments_left"] == 0
    settled = (await client.get(f"/api/loans/{loan_id}/schedule")).json()["installments"]
    assert [{k: v for k, v in s.items() if k in planned[0]} for s in settled] == planned
    score = (await client.get(f"/api/customers/{customer_id}/credit-score")).json()
    assert {c["name"]: c["value"] for c in score["components"]}["paid_on_time"] == 1.0
