"""What must hold whatever the history or the traffic: constant SQL per request, and
concurrent bookings that never break the policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from credit.app import create_app
from credit.clock import FixedClock
from credit.settings import Settings
from tests.integration.book import PastLoan, count_rows, seed_loans
from tests.integration.private_services import free_port
from tests.integration.test_api_customers import applicant
from tests.integration.test_api_loans import application, register

Client = AsyncTestClient[Litestar]


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    """Every statement sent, except transaction control: through SQLAlchemy's engine (both
    databases), and any sent on an asyncpg connection past it (a side door would show here)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    def counted(method: Any) -> Any:
        async def run(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            if not query.lstrip().upper().startswith(TRANSACTION_CONTROL):
                statements.append(query)
            return await method(self, query, *args, **kwargs)

        return run

    event.listen(Engine, "before_cursor_execute", record)
    with pytest.MonkeyPatch.context() as patch:
        for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
            patch.setattr(asyncpg.Connection, name, counted(getattr(asyncpg.Connection, name)))
        try:
            yield statements
        finally:
            event.remove(Engine, "before_cursor_execute", record)


async def statements_per_endpoint(client: Client, customer_id: int, loan_id: int) -> dict[str, int]:
    calls = {
        "check-eligibility": (
            "POST",
            "/api/check-eligibility",
            application(customer_id, loan_amount=1000),
        ),
        "create-loan": ("POST", "/api/create-loan", application(customer_id, loan_amount=1000)),
        "view-loan": ("GET", f"/api/view-loan/{loan_id}", None),
        "view-loans": ("GET", f"/api/view-loans/{customer_id}", None),
        "profile": ("GET", f"/api/customers/{customer_id}", None),
        "credit-score": ("GET", f"/api/customers/{customer_id}/credit-score", None),
        "schedule": ("GET", f"/api/loans/{loan_id}/schedule", None),
    }
    counts: dict[str, int] = {}
    for name, (method, path, body) in calls.items():
        with counting_statements() as statements:
            response = await client.request(method, path, json=body)
        assert response.status_code < 300, (name, response.text)
        counts[name] = len(statements)
    return counts


async def test_each_endpoint_issues_a_constant_number_of_statements(
    client: Client, settings: Settings, today: date
) -> None:
    small = await register(client, income=500_000, phone=9_000_000_001)
    large = await register(client, income=500_000, phone=9_000_000_002)
    history = [
        PastLoan(10_000, "11", 120, date(2020 + i % 5, 1 + i % 12, 1), paid_on_time=3)
        for i in range(40)
    ]
    (small_loan,) = await seed_loans(settings.database_url, small, history[:1])
    large_loans = await seed_loans(settings.database_url, large, history)

    few = await statements_per_endpoint(client, small, small_loan)
    many = await statements_per_endpoint(client, large, large_loans[0])
    assert few == many
    # One aggregate query decides; booking adds its conditional claim, the insert and the
    # application record: one statement on PostgreSQL, three on SQLite (no data-modifying
    # WITH there).
    assert few["check-eligibility"] == 1
    assert few["credit-score"] == 1
    assert few["view-loan"] == 1
    assert few["view-loans"] == 1
    assert few["schedule"] == 1
    assert few["profile"] == 1
    assert few["create-loan"] == (2 if settings.database_url.startswith("postgresql") else 4)
    with counting_statements() as statements:
        response = await client.post("/api/register", json=applicant(phone_number=9_111_111_111))
    assert response.status_code == 201
    assert len(statements) == 1


async def test_servicing_reads_and_writes_are_constant_whatever_the_payments(
    client: Client, settings: Settings, today: date
) -> None:
    """Reading a loan with its payments is one statement, and recording one payment a fixed
    few, whether the loan has one payment or many."""
    customer_id = await register(client, income=500_000, phone=9_000_000_003)
    start = date(today.year - 2, today.month, 1)
    loans = await seed_loans(
        settings.database_url,
        customer_id,
        [PastLoan(100_000, "12", 60, start, loaded_on=None) for _ in range(2)],
    )
    one, many = loans
    emi = 2224.44

    async def counted(method: str, path: str, body: Any = None) -> int:
        with counting_statements() as statements:
            response = await client.request(method, path, json=body)
        assert response.status_code < 300, (path, response.text)
        return len(statements)

    def calls(loan_id: int) -> dict[str, tuple[str, str, Any]]:
        return {
            "make-payment": ("POST", f"/api/make-payment/{customer_id}/{loan_id}", {"amount": emi}),
            "view-statement": ("GET", f"/api/view-statement/{customer_id}/{loan_id}", None),
            "schedule": ("GET", f"/api/loans/{loan_id}/schedule", None),
            "view-loans": ("GET", f"/api/view-loans/{customer_id}", None),
            "profile": ("GET", f"/api/customers/{customer_id}", None),
            "credit-score": ("GET", f"/api/customers/{customer_id}/credit-score", None),
        }

    for _ in range(12):
        paid = await client.post(f"/api/make-payment/{customer_id}/{many}", json={"amount": emi})
        assert paid.status_code == 201, paid.text
    few_counts = {name: await counted(*call) for name, call in calls(one).items()}
    many_counts = {name: await counted(*call) for name, call in calls(many).items()}
    assert few_counts == many_counts
    # A payment: on PostgreSQL an unlocked read and one statement that settles and records
    # it; on SQLite the read, the update and the insert in a transaction.
    assert few_counts == {
        "make-payment": 2 if settings.database_url.startswith("postgresql") else 3,
        "view-statement": 1,
        "schedule": 1,
        "view-loans": 1,
        "profile": 1,
        "credit-score": 1,
    }


@asynccontextmanager
async def live_server(app: Litestar) -> AsyncIterator[str]:
    """The app behind a real uvicorn socket, so requests truly run side by side."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def test_concurrent_bookings_never_break_the_policy(settings: Settings, today: date) -> None:
    # Income 1,00,000: EMIs may reach 50,000. Each loan's EMI is 22,244.45, so only two fit,
    # although the limit (36 lakh) alone would allow three.
    async with (
        live_server(create_app(settings, clock=FixedClock(today))) as base_url,
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
    ):
        registered = await http.post("/api/register", json=applicant(monthly_income=100_000))
        customer_id = registered.json()["customer_id"]
        request = application(customer_id, loan_amount=1_000_000, interest_rate=12, tenure=60)
        responses = await asyncio.gather(
            *(http.post("/api/create-loan", json=request) for _ in range(12))
        )
        current = (await http.get(f"/api/view-loans/{customer_id}")).json()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 10 + [201] * 2, [r.text for r in responses]
    assert all(r.json()["loan_approved"] is (r.status_code == 201) for r in responses)
    assert await count_rows(settings.database_url) == (1, 2)
    assert sum(loan["monthly_installment"] for loan in current) <= 50_000
    assert sum(loan["loan_amount"] for loan in current) <= 3_600_000
