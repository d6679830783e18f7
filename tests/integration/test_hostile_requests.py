"""Requests a hostile or careless client sends: each gets its honest status, none a 500.

Runs on SQLite and PostgreSQL (the `settings` fixture).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.settings import Settings
from tests.conftest import TODAY
from tests.integration.test_operations import sample

CUSTOMER = {
    "first_name": "Kavya",
    "last_name": "Iyer",
    "age": 29,
    "monthly_income": 64_321,
    "phone_number": 9_812_345_670,
}


async def test_metrics_count_refusals_with_their_own_status(settings: Settings) -> None:
    """A 401 from authentication and a 429 from its address limit are counted as such (they
    were counted as 500s, in the error counter too, with no response seen)."""
    guarded = replace(
        settings,
        auth_required=True,
        rate_limit_per_second=0,
        rate_limit_anonymous_per_second=0.001,  # no refill during the test
        rate_limit_anonymous_burst=2,
    )
    path = "/api/view-loans/{customer_id}"
    async with AsyncTestClient(app=create_app(guarded, clock=FixedClock(TODAY))) as client:
        before = (await client.get("/metrics")).text
        codes = [
            (await client.get("/api/view-loans/1", headers={"X-API-Key": f"ck_{n}"})).status_code
            for n in range(4)
        ]
        after = (await client.get("/metrics")).text
    assert codes == [401, 401, 429, 429]
    counted = "credit_http_requests_total"
    for status, times in (("401", 2), ("429", 2), ("500", 0)):
        labels = {"path": path, "status_code": status}
        assert sample(after, counted, **labels) - sample(before, counted, **labels) == times
    errors = "credit_http_requests_error_total"
    assert sample(after, errors, path=path) - sample(before, errors, path=path) == 0


@pytest.mark.parametrize("today", [date(9999, 12, 31), date(9999, 6, 1)])
async def test_a_loan_that_would_end_past_the_calendar_is_refused_not_a_500(
    settings: Settings, today: date
) -> None:
    """With today pinned near year 9999, a loan ending in year 10000 gets 422 naming its tenure
    (the end date overflowed into a 500); one that ends in time is booked."""
    async with AsyncTestClient(app=create_app(settings, clock=FixedClock(today))) as client:
        registered = await client.post("/api/register", json=CUSTOMER)
        assert registered.status_code == 201
        customer_id = registered.json()["customer_id"]
        loan = {"customer_id": customer_id, "loan_amount": 10_000, "interest_rate": 12}
        refused = await client.post("/api/create-loan", json={**loan, "tenure": 12})
        assert refused.status_code == 422, refused.text
        assert refused.json()["extra"][0]["key"] == "tenure"
        assert "past the calendar" in refused.json()["detail"]
        assert (await client.get(f"/api/view-loans/{customer_id}")).json() == []
        if today.month < 12:
            booked = await client.post("/api/create-loan", json={**loan, "tenure": 1})
            assert booked.status_code == 201, booked.text
            schedule = await client.get(f"/api/loans/{booked.json()['loan_id']}/schedule")
            assert schedule.json()["installments"][0]["due_date"] == "9999-07-01"


def pool_of(app: Litestar) -> Any:
    config = app.plugins.get(SQLAlchemyPlugin).config[0]
    return config.get_engine().sync_engine.pool


async def test_head_closes_its_session_as_get_does(settings: Settings) -> None:
    """Ten times the pool's size of HEADs leave every pooled connection back in the pool, and
    a GET after them is served (HEAD ran the GET on a copy of the request, whose session was
    never closed: the pool ran dry and every client got 503 after the pool timeout)."""
    small = replace(settings, database_pool_size=2)
    app = create_app(small, clock=FixedClock(TODAY))
    async with AsyncTestClient(app=app) as client:
        registered = await client.post("/api/register", json=CUSTOMER)
        customer_id = registered.json()["customer_id"]
        pool = pool_of(app)
        for _ in range(10 * small.database_pool_size):
            head = await client.head(f"/api/view-loans/{customer_id}")
            assert head.status_code == 200
            assert head.content == b""
            assert pool.checkedout() == 0
        served = await client.get(f"/api/view-loans/{customer_id}")
        assert served.status_code == 200
        assert served.json() == []
        assert pool.checkedout() == 0


async def test_ids_above_what_json_reads_exactly_are_refused_and_documented(
    client: AsyncTestClient[Litestar],
) -> None:
    """2^53 - 1 is the largest id a JavaScript client reads exactly: one above is a 400, in a
    path or a body, and the OpenAPI document gives that maximum."""
    largest, over = 2**53 - 1, 2**53
    assert (await client.get(f"/api/view-loan/{largest}")).status_code == 404
    for path in (f"/api/view-loan/{over}", f"/api/customers/{over}", f"/api/view-loans/{over}"):
        assert (await client.get(path)).status_code == 400, path
    loan = {"customer_id": over, "loan_amount": 10_000, "interest_rate": 12, "tenure": 12}
    refused = await client.post("/api/check-eligibility", json=loan)
    assert refused.status_code == 400
    assert refused.json()["extra"][0]["key"] == "customer_id"
    document = (await client.get("/schema/openapi.json")).json()
    (parameter,) = document["paths"]["/api/view-loan/{loan_id}"]["get"]["parameters"]
    assert parameter["schema"]["maximum"] == largest
    body = document["components"]["schemas"]["LoanApplication"]["properties"]["customer_id"]
    assert body["maximum"] == largest
