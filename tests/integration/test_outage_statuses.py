"""The database being unavailable is a 503, whatever the driver says while the server shuts
down, starts or recovers from a crash.

A private PostgreSQL (tests/integration/private_services.py) is stopped and started again,
twice (a fast shutdown, then an immediate one and its crash recovery), in the middle of a
burst of concurrent requests. Before, asyncpg's `CannotConnectNowError` ("the database system
is starting up / shutting down") and its kin were 500s.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import anyio
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.db.migrations import upgrade_database
from credit.settings import Settings
from tests.conftest import TODAY
from tests.integration.figures import record
from tests.integration.private_services import PrivatePostgres
from tests.integration.test_faults import (
    PERSON,
    _create_database,
    private_postgres,  # noqa: F401 - the fixture
)

UNAVAILABLE = "The database is unavailable; try again shortly."
CLIENTS = 6

pytestmark = pytest.mark.postgres


async def test_every_answer_is_200_or_503_while_postgres_stops_starts_and_recovers(
    private_postgres: PrivatePostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    url = await _create_database(private_postgres)
    settings = Settings(
        database_url=url, sample_data_dir=None, upload_dir=tmp_path, rate_limit_per_second=0
    )
    await anyio.to_thread.run_sync(upgrade_database, settings)
    answers: list[tuple[int, str]] = []

    async with AsyncTestClient(app=create_app(settings, clock=FixedClock(TODAY))) as client:
        created = await client.post("/api/register", json=PERSON | {"phone_number": 9_400_000_001})
        assert created.status_code == 201
        customer = created.json()["customer_id"]
        eligibility = {
            "customer_id": customer,
            "loan_amount": 1e5,
            "interest_rate": 14,
            "tenure": 12,
        }

        async def traffic(client: AsyncTestClient[Litestar], stop: anyio.Event) -> None:
            while not stop.is_set():
                for method, path, body in (
                    ("GET", f"/api/customers/{customer}", None),
                    ("POST", "/api/check-eligibility", eligibility),
                    ("GET", f"/api/view-loans/{customer}", None),
                ):
                    response = await client.request(method, path, json=body)
                    answers.append((response.status_code, response.text))
                await asyncio.sleep(0)

        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            for _ in range(CLIENTS):
                group.start_soon(traffic, client, stop)
            for mode in ("fast", "immediate"):
                await asyncio.sleep(0.3)
                await anyio.to_thread.run_sync(private_postgres.stop, mode)
                await asyncio.sleep(0.3)
                await anyio.to_thread.run_sync(private_postgres.start)
            # Served again by the same process before the burst ends.
            for _ in range(300):
                if answers[-1][0] == 200:
                    break
                await asyncio.sleep(0.1)
            stop.set()

    statuses = Counter(status for status, _ in answers)
    assert set(statuses) <= {200, 503}, [a for a in answers if a[0] not in (200, 503)][:3]
    assert statuses[503] > 0, statuses
    assert answers[-1][0] == 200
    for status, text in answers:
        if status == 503:
            assert json.loads(text)["detail"] == UNAVAILABLE
    record(
        "outage-stop-start-burst",
        requests=len(answers),
        **{str(s): n for s, n in statuses.items()},
    )
