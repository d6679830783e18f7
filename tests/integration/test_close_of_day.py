"""The close of day through the API, on both databases, with the clock moved from day to day.

One customer, two loans booked on 2026-01-15 (1,00,000 at 12 % for 12 months, first
installment due 2026-02-15). Loan B is paid before every due date; loan A is not paid at all,
and slides standard -> SMA-0 -> SMA-1 -> SMA-2 -> NPA over the closes of 2026-02-14 to
2026-05-17, taking B with it (borrower-wise). A payment back-dated to a closed date changes
nothing of that day; a partial payment leaves A NPA; clearing the arrears makes both
standard again. 120 dates are closed in all (2026-02-14 to 2026-06-13).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from litestar import Litestar

from credit.app import create_app
from credit.settings import Settings
from tests.integration.lenders_day import Client, MovingClock, close_to
from tests.integration.test_api_loans import application, register

START = date(2026, 1, 15)
EMI = 8884.88


@pytest.fixture
def clock() -> MovingClock:
    return MovingClock(START)


@pytest.fixture
def app(settings: Settings, clock: MovingClock) -> Litestar:
    return create_app(replace(settings), clock=clock)


async def pay(
    client: Client, clock: MovingClock, customer: int, loan: int, on: date, **body: Any
) -> dict[str, Any]:
    clock.day = max(clock.day, on)
    body = {"amount": EMI, "paid_on": on.isoformat()} | body
    response = await client.post(f"/api/make-payment/{customer}/{loan}", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def classified(client: Client, loan: int) -> tuple[Any, Any, Any]:
    body = (await client.get(f"/api/view-loan/{loan}")).json()
    return body["classification"], body["classified_on"], body["classified_days_past_due"]


async def portfolio(client: Client, as_of: date | None = None) -> dict[str, Any]:
    query = "" if as_of is None else f"?as_of={as_of.isoformat()}"
    response = await client.get(f"/api/portfolio{query}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_loan_slides_to_npa_and_back(client: Client, clock: MovingClock) -> None:
    customer = await register(client, income=200_000)
    booked = [await client.post("/api/create-loan", json=application(customer)) for _ in "AB"]
    a, b = (r.json()["loan_id"] for r in booked)

    # Before the first close: nothing classified, and nothing to report.
    assert await classified(client, a) == (None, None, None)
    assert (await client.get(f"/api/customers/{customer}")).json()["classification"] is None
    missing = await client.get("/api/portfolio")
    assert missing.status_code == 404
    # Today and the future cannot be closed.
    clock.day = date(2026, 2, 15)
    refused = await client.post("/api/close-day", json={"date": "2026-02-15"})
    assert refused.status_code == 422, refused.text

    await pay(client, clock, customer, b, date(2026, 2, 10))
    first = await close_to(client, clock, date(2026, 2, 14), date(2026, 2, 15))
    assert [d["as_of"] for d in first["report"]["closed"]] == ["2026-02-14"]  # only that date
    assert await classified(client, a) == ("standard", "2026-02-14", 0)
    profile = (await client.get(f"/api/customers/{customer}")).json()
    assert profile["classification"] == "standard"

    await close_to(client, clock, date(2026, 2, 16), date(2026, 2, 17))
    assert await classified(client, a) == ("SMA-0", "2026-02-16", 1)
    # The live figure stays today's.
    assert (await client.get(f"/api/view-loan/{a}")).json()["days_past_due"] == 2

    await pay(client, clock, customer, b, date(2026, 3, 10))
    caught_up = await close_to(client, clock, date(2026, 3, 18), date(2026, 3, 19))
    assert len(caught_up["report"]["closed"]) == 30  # 2026-02-17 .. 2026-03-18, in order
    assert await classified(client, a) == ("SMA-1", "2026-03-18", 31)
    assert await classified(client, b) == ("standard", "2026-03-18", 0)

    await pay(client, clock, customer, b, date(2026, 4, 10))
    await close_to(client, clock, date(2026, 4, 17), date(2026, 4, 18))
    assert await classified(client, a) == ("SMA-2", "2026-04-17", 61)

    await pay(client, clock, customer, b, date(2026, 5, 10))
    await close_to(client, clock, date(2026, 5, 17), date(2026, 5, 18))
    assert await classified(client, a) == ("NPA", "2026-05-17", 91)
    assert await classified(client, b) == ("NPA", "2026-05-17", 0)  # borrower-wise
    assert (await client.get(f"/api/customers/{customer}")).json()["classification"] == "NPA"
    npa_day = await portfolio(client, date(2026, 5, 17))
    assert npa_day["by_classification"]["NPA"]["loans"] == 2

    refused_loan = await client.post("/api/create-loan", json=application(customer))
    assert refused_loan.status_code == 200
    assert "npa" in [r["code"] for r in refused_loan.json()["reasons"]]
    eligibility = await client.post("/api/check-eligibility", json=application(customer))
    assert eligibility.json()["approval"] is False
    assert "npa" in [r["code"] for r in eligibility.json()["reasons"]]

    # A partial payment, back-dated to a closed date: that day's records stay as they were,
    # and from the next close A is still NPA (the oldest unpaid installment is 66 days old).
    back_dated = await pay(client, clock, customer, a, date(2026, 5, 17))
    clock.day = date(2026, 5, 20)
    assert await portfolio(client, date(2026, 5, 17)) == npa_day
    assert await classified(client, a) == ("NPA", "2026-05-17", 91)
    await close_to(client, clock, date(2026, 5, 20), date(2026, 5, 21))
    assert await classified(client, a) == ("NPA", "2026-05-20", 66)

    # The arrears cleared: both loans standard at the next close.
    for _ in range(3):
        await pay(client, clock, customer, a, date(2026, 5, 25))
    await close_to(client, clock, date(2026, 5, 25), date(2026, 5, 26))
    assert await classified(client, a) == ("standard", "2026-05-25", 0)
    assert await classified(client, b) == ("standard", "2026-05-25", 0)
    assert (await client.get(f"/api/customers/{customer}")).json()["classification"] == "standard"

    await close_to(client, clock, date(2026, 6, 13), date(2026, 6, 14))
    history = (await client.get(f"/api/loans/{a}/classification-history")).json()
    assert history["periods"] == [
        {"classification": "standard", "from": "2026-02-14", "to": "2026-02-15"},
        {"classification": "SMA-0", "from": "2026-02-16", "to": "2026-03-17"},
        {"classification": "SMA-1", "from": "2026-03-18", "to": "2026-04-16"},
        {"classification": "SMA-2", "from": "2026-04-17", "to": "2026-05-16"},
        {"classification": "NPA", "from": "2026-05-17", "to": "2026-05-24"},
        {"classification": "standard", "from": "2026-05-25", "to": None},
    ]
    latest = await portfolio(client)
    assert latest["as_of"] == "2026-06-13"

    # Every closed day's summary equals, to the paisa, the sum recomputed loan by loan from
    # the stored history and the payments.
    # (The back-dated payment was recorded after the close of its date: it counts from the
    # next close, 2026-05-18, on.)
    counts_from = {back_dated["payment_id"]: date(2026, 5, 18)}
    await assert_summaries_recompute(client, customer, [a, b], date(2026, 2, 14), 120, counts_from)


async def assert_summaries_recompute(
    client: Client,
    customer: int,
    loans: list[int],
    first: date,
    days: int,
    counts_from: dict[int, date],
) -> None:
    histories = {
        loan: (await client.get(f"/api/loans/{loan}/classification-history")).json()["periods"]
        for loan in loans
    }
    statements = {
        loan: (await client.get(f"/api/view-statement/{customer}/{loan}")).json() for loan in loans
    }
    for n in range(days):
        day = first + timedelta(days=n)
        expected = {
            name: [0, Decimal("0")] for name in ("standard", "SMA-0", "SMA-1", "SMA-2", "NPA")
        }
        for loan in loans:
            period = next(
                (
                    p
                    for p in histories[loan]
                    if date.fromisoformat(p["from"]) <= day
                    and (p["to"] is None or day <= date.fromisoformat(p["to"]))
                ),
                None,
            )
            if period is None:
                continue
            statement = statements[loan]
            paid = [
                p
                for p in statement["payments"]
                if not p["reversed"]
                and counts_from.get(p["payment_id"], date.fromisoformat(p["paid_on"])) <= day
            ]
            balance = (
                Decimal(str(paid[-1]["balance"])) if paid else Decimal(str(statement["principal"]))
            )
            expected[period["classification"]][0] += 1
            expected[period["classification"]][1] += balance
        summary = await portfolio(client, day)
        got = {
            name: [figures["loans"], Decimal(str(figures["outstanding"]))]
            for name, figures in summary["by_classification"].items()
        }
        assert got == expected, day
        assert Decimal(str(summary["outstanding"])) == sum(v[1] for v in expected.values())


async def test_two_closes_started_together_do_the_work_once(
    client: Client, clock: MovingClock, settings: Settings
) -> None:
    import asyncio

    from credit.db.database import sqlalchemy_config
    from credit.modules.portfolio.jobs import run_close

    customer = await register(client, income=200_000)
    booked = [await client.post("/api/create-loan", json=application(customer)) for _ in "abc"]
    alchemy = sqlalchemy_config(settings)

    async def progress(stage: str, rows_done: int) -> None:
        await asyncio.sleep(0)

    try:
        reports = await asyncio.gather(
            *(run_close(alchemy, date(2026, 3, 1), date(2026, 3, 2), progress) for _ in range(2))
        )
    finally:
        await alchemy.get_engine().dispose()
    closed = sorted(len(report.closed) for report in reports)
    assert closed == [0, 1]  # one closed the date, the other found it closed
    summary = await portfolio(client, date(2026, 3, 1))
    assert summary["loans"] == 3
    assert summary["by_classification"]["SMA-0"]["loans"] == 3  # due 2026-02-15, unpaid
    loan = booked[0].json()["loan_id"]
    history = (await client.get(f"/api/loans/{loan}/classification-history")).json()
    assert history["periods"] == [{"classification": "SMA-0", "from": "2026-03-01", "to": None}]
