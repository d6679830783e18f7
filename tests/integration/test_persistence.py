"""The one way into the database: its limits, its logging, and reads without transactions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.db.database import sqlalchemy_config
from credit.errors import DatabaseUnavailable, NotFound
from credit.modules.customers.service import CustomerService
from credit.settings import Settings
from tests.conftest import TODAY, empty_tables
from tests.integration.test_api_customers import applicant
from tests.integration.test_api_loans import application


async def test_a_full_pool_answers_unavailable_instead_of_queueing_forever(
    postgres_url: str,
) -> None:
    settings = Settings(database_url=postgres_url, sample_data_dir=None, database_pool_size=1)
    alchemy = sqlalchemy_config(settings)
    engine = alchemy.get_engine()
    engine.pool._timeout = 0.2  # type: ignore[attr-defined]  # the configured wait is 10 s
    try:
        async with engine.connect() as held:
            await held.exec_driver_sql("SELECT 1")  # holds the only connection
            async with CustomerService.new(config=alchemy) as customers:
                with pytest.raises(DatabaseUnavailable):
                    await customers.get_customer(1)
        async with CustomerService.new(config=alchemy) as customers:  # free again
            with pytest.raises(NotFound):
                await customers.get_customer(1)
    finally:
        await engine.dispose()


async def test_database_echo_logs_sql_but_never_its_parameters(
    settings: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    phone = 9_834_567_012
    app = create_app(replace(settings, database_echo=True), clock=FixedClock(TODAY))
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
        async with AsyncTestClient(app=app) as client:
            response = await client.post("/api/register", json=applicant(phone_number=phone))
            assert response.status_code == 201
    logged = caplog.text + "".join(capfd.readouterr())
    assert "INSERT INTO customers" in logged
    assert str(phone) not in logged
    assert "[SQL parameters hidden" in logged


@contextmanager
def transaction_control() -> Iterator[list[str]]:
    """BEGIN, COMMIT and ROLLBACK as asyncpg sends them (SQLAlchemy's adapter sends them
    through `Connection.execute`)."""
    sent: list[str] = []
    real = asyncpg.Connection.execute

    async def execute(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if query.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            sent.append(query)
        return await real(self, query, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(asyncpg.Connection, "execute", execute)
        yield sent


async def test_single_statement_requests_send_no_begin_or_commit(postgres_url: str) -> None:
    settings = Settings(database_url=postgres_url, sample_data_dir=None, rate_limit_per_second=0)
    app = create_app(settings, clock=FixedClock(TODAY))
    try:
        async with AsyncTestClient(app=app) as client:
            # The engine's first connection initialises the dialect (in a transaction, once).
            assert (await client.get("/api/view-loans/999999")).status_code == 404
            with transaction_control() as sent:
                registered = await client.post("/api/register", json=applicant())
                customer_id = registered.json()["customer_id"]
                body = application(customer_id, loan_amount=1000)
                assert (await client.post("/api/check-eligibility", json=body)).status_code == 200
                assert (await client.get(f"/api/view-loans/{customer_id}")).status_code == 200
                assert (await client.post("/api/create-loan", json=body)).status_code == 201
            assert sent == []
            # A taken phone number is still refused, by the unique index alone.
            again = await client.post("/api/register", json=applicant())
            assert again.status_code == 409
    finally:
        await empty_tables(postgres_url)


def test_an_app_started_again_in_the_same_process_still_serves(postgres_url: str) -> None:
    """Each start runs on its own event loop: no pooled connection of a loop that has ended
    may be lent again (asyncpg refused it, and every request after the restart was a 503)."""
    from litestar.testing import TestClient

    app = create_app(Settings(database_url=postgres_url, sample_data_dir=None))
    for _ in range(3):
        with TestClient(app=app) as client:
            assert client.get("/api/view-loan/1").status_code == 404
