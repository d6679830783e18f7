"""`Idempotency-Key` on create-loan and make-payment, on both databases: a retry replays the
first answer and writes nothing, another request with the key is refused, keys outlive 24
hours and are purged later, and concurrent duplicates book once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from credit.app import create_app
from credit.clock import FixedClock
from credit.db.database import sqlalchemy_config
from credit.modules.loans.idempotency import purge_old_keys
from credit.modules.loans.models import IDEMPOTENCY_KEYS, Payment
from credit.settings import Settings
from tests.integration.book import PastLoan, count_rows, seed_loans
from tests.integration.test_api_customers import applicant
from tests.integration.test_api_invariants import live_server
from tests.integration.test_api_loans import application, register

Client = AsyncTestClient[Litestar]


async def count(database_url: str, table: object) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(table)) or 0)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def test_create_loan_retry_replays_and_writes_nothing(
    client: Client, settings: Settings
) -> None:
    customer_id = await register(client)
    body = application(customer_id, loan_amount=50_000)
    key = {"Idempotency-Key": "booking-7f3a"}
    first = await client.post("/api/create-loan", json=body, headers=key)
    assert first.status_code == 201, first.text
    # The same request again, written differently (key order, 50000.0, a trailing slash).
    reordered = {"tenure": 12, "interest_rate": 12.0, "loan_amount": 50_000.0}
    again = await client.post(
        "/api/create-loan/", json=reordered | {"customer_id": customer_id}, headers=key
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert await count_rows(settings.database_url) == (1, 1)

    other = await client.post(
        "/api/create-loan", json=application(customer_id, loan_amount=60_000), headers=key
    )
    assert other.status_code == 422
    assert other.json()["extra"][0]["key"] == "Idempotency-Key"
    assert await count_rows(settings.database_url) == (1, 1)

    # Without the header every request is new.
    for _ in range(2):
        plain = await client.post("/api/create-loan", json=body)
        assert plain.status_code == 201
    assert await count_rows(settings.database_url) == (1, 3)


async def test_a_refusal_is_replayed_too(client: Client, settings: Settings) -> None:
    customer_id = await register(client, income=20_000)
    body = application(customer_id, loan_amount=5_000_000)  # far above the limit
    key = {"Idempotency-Key": "big-ask"}
    first = await client.post("/api/create-loan", json=body, headers=key)
    assert first.status_code == 200
    assert first.json()["loan_approved"] is False
    again = await client.post("/api/create-loan", json=body, headers=key)
    assert (again.status_code, again.json()) == (200, first.json())
    # A 4xx is not stored: the key stays free for the corrected request.
    unknown = await client.post(
        "/api/create-loan", json=application(424242), headers={"Idempotency-Key": "fix-me"}
    )
    assert unknown.status_code == 404
    fixed = await client.post(
        "/api/create-loan",
        json=application(customer_id, loan_amount=10_000),
        headers={"Idempotency-Key": "fix-me"},
    )
    assert fixed.status_code == 201, fixed.text


async def test_make_payment_retry_replays_the_same_payment(
    client: Client, settings: Settings, today: date
) -> None:
    customer_id = await register(client)
    (loan_id,) = await seed_loans(
        settings.database_url,
        customer_id,
        [PastLoan(100_000, "12", 12, today - timedelta(days=40), loaded_on=None)],
    )
    path = f"/api/make-payment/{customer_id}/{loan_id}"
    key = {"Idempotency-Key": "pay-2026-01"}
    first = await client.post(path, json={"amount": 8884.88}, headers=key)
    assert first.status_code == 201, first.text
    again = await client.post(path, json={"amount": 8884.88}, headers=key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert await count(settings.database_url, Payment.__table__) == 1
    other = await client.post(path, json={"amount": 9000}, headers=key)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    # The same key on another operation is another key.
    booked = await client.post(
        "/api/create-loan", json=application(customer_id, loan_amount=1_000), headers=key
    )
    assert booked.status_code == 201, booked.text
    statement = (await client.get(f"/api/view-statement/{customer_id}/{loan_id}")).json()
    assert [p["payment_id"] for p in statement["payments"]] == [first.json()["payment_id"]]


async def test_a_malformed_key_is_refused_naming_the_header(client: Client) -> None:
    customer_id = await register(client)
    for bad in ("x" * 256, "has space", "tab\tin"):
        response = await client.post(
            "/api/create-loan",
            json=application(customer_id),
            headers={"Idempotency-Key": bad},
        )
        assert response.status_code == 400, bad
        assert response.json()["extra"][0]["key"] == "idempotency_key"
        assert response.json()["extra"][0]["source"] == "header"
    ok = await client.post(
        "/api/create-loan", json=application(customer_id), headers={"Idempotency-Key": "~" * 255}
    )
    assert ok.status_code == 201


async def test_keys_are_kept_a_day_and_purged_later(client: Client, settings: Settings) -> None:
    customer_id = await register(client)
    body = application(customer_id, loan_amount=10_000)
    key = {"Idempotency-Key": "kept"}
    first = await client.post("/api/create-loan", json=body, headers=key)
    assert first.status_code == 201
    alchemy = sqlalchemy_config(settings)
    try:
        now = datetime.now(UTC)
        assert await purge_old_keys(alchemy, now=now + timedelta(hours=25)) == 0
        again = await client.post("/api/create-loan", json=body, headers=key)
        assert again.json() == first.json()
        assert await purge_old_keys(alchemy, now=now + timedelta(hours=49)) == 1
    finally:
        await alchemy.get_engine().dispose()
    assert await count(settings.database_url, IDEMPOTENCY_KEYS) == 0
    # Purged: the key is new again.
    later = await client.post("/api/create-loan", json=body, headers=key)
    assert later.status_code == 201
    assert later.json()["loan_id"] != first.json()["loan_id"]


async def test_concurrent_duplicates_book_once(settings: Settings, today: date) -> None:
    async with (
        live_server(create_app(settings, clock=FixedClock(today))) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=60) as http,
    ):
        registered = await http.post("/api/register", json=applicant(monthly_income=200_000))
        customer_id = registered.json()["customer_id"]
        body = application(customer_id, loan_amount=10_000)
        responses = await asyncio.gather(
            *(
                http.post("/api/create-loan", json=body, headers={"Idempotency-Key": "dup"})
                for _ in range(10)
            )
        )
    assert [r.status_code for r in responses] == [201] * 10, [r.text for r in responses]
    assert len({r.json()["loan_id"] for r in responses}) == 1
    assert await count_rows(settings.database_url) == (1, 1)
