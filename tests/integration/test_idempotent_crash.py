"""An idempotent retry after a crash (PostgreSQL): a real uvicorn server gets SIGKILL in the
middle of a burst of create-loan requests that carry keys. Some loans committed without their
client hearing back. After a restart, retrying every request with its key leaves exactly one
loan per key, and every answer a client did get is the answer its retry gets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import httpx
import pytest

from credit.db.migrations import upgrade_database
from credit.settings import Settings
from tests.conftest import TODAY, _admin, _sqlalchemy_url
from tests.integration.private_services import free_port
from tests.integration.test_api_customers import applicant
from tests.integration.test_faults import record

pytestmark = [pytest.mark.postgres, pytest.mark.xdist_group("faults")]

CUSTOMERS = 40
KEYS_PER_CUSTOMER = 5
KILL_AFTER_ANSWERS = 30
READY_TIMEOUT_S = 60


@pytest.fixture
async def crash_database(pg_admin_dsn: str) -> AsyncIterator[str]:
    name = f"credit_crash_{uuid.uuid4().hex[:10]}"
    await _admin(pg_admin_dsn, f'CREATE DATABASE "{name}"')
    yield pg_admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    await _admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_server(dsn: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL", "SAMPLE_DATA_DIR", "AUTH_REQUIRED")
    }
    env |= {
        "DATABASE_URL": _sqlalchemy_url(dsn),
        "CREDIT_TODAY": TODAY.isoformat(),
        "RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "credit.app:create_app", "--factory"]
    return subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def output(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_ready(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
        while time.monotonic() < deadline:
            assert server.poll() is None, output(log)
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    pytest.fail(f"server not ready in {READY_TIMEOUT_S}s\n{output(log)}")


def request_of(customer_id: int, n: int) -> dict[str, Any]:
    # 20 % a year meets every approving slab: each request is approved on its own book.
    return {
        "customer_id": customer_id,
        "loan_amount": 10_000 + n,
        "interest_rate": 20,
        "tenure": 12,
    }


async def test_retry_after_kill_leaves_one_loan_per_key(
    crash_database: str, tmp_path: Path
) -> None:
    dsn = crash_database
    url = _sqlalchemy_url(dsn)
    await anyio.to_thread.run_sync(
        upgrade_database, Settings(database_url=url, sample_data_dir=None)
    )
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    server = start_server(dsn, port, log)
    try:
        await wait_ready(base_url, server, log)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            customer_ids = []
            for i in range(CUSTOMERS):
                registered = await http.post(
                    "/api/register",
                    json=applicant(monthly_income=1_000_000, phone_number=9_400_000_000 + i),
                )
                assert registered.status_code == 201, registered.text
                customer_ids.append(registered.json()["customer_id"])
        burst = {
            f"crash-{c}-{n}": request_of(c, n)
            for n in range(KEYS_PER_CUSTOMER)
            for c in customer_ids
        }
        answered: dict[str, dict[str, Any]] = {}
        enough = asyncio.Event()
        limits = httpx.Limits(max_connections=len(burst))
        async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:

            async def send(key: str, body: dict[str, Any]) -> None:
                try:
                    response = await http.post(
                        "/api/create-loan", json=body, headers={"Idempotency-Key": key}
                    )
                except httpx.HTTPError:
                    return
                assert response.status_code == 201, response.text
                answered[key] = response.json()
                if len(answered) >= KILL_AFTER_ANSWERS:
                    enough.set()

            tasks = [asyncio.create_task(send(key, body)) for key, body in burst.items()]
            await asyncio.wait_for(enough.wait(), timeout=60)
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=10)
            await asyncio.gather(*tasks)
        assert KILL_AFTER_ANSWERS <= len(answered) < len(burst), "the kill missed the burst"
        committed_before_retry = await count_loans(dsn)
        # Some loans committed whose clients heard nothing: the case a retry must not repeat.
        assert committed_before_retry >= len(answered)

        server = start_server(dsn, port, log)
        await wait_ready(base_url, server, log)
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
            retried = {}
            for key, body in burst.items():
                response = await http.post(
                    "/api/create-loan", json=body, headers={"Idempotency-Key": key}
                )
                assert response.status_code == 201, response.text
                retried[key] = response.json()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    for key, first in answered.items():
        assert retried[key] == first, key
    loan_ids = [answer["loan_id"] for answer in retried.values()]
    assert len(set(loan_ids)) == len(burst)
    assert await count_loans(dsn) == len(burst)
    assert await loans_per_request(dsn) == {1}
    record(
        "idempotent_retry_after_sigkill",
        requests=len(burst),
        answered_before_kill=len(answered),
        committed_before_kill=committed_before_retry,
        committed_unanswered=committed_before_retry - len(answered),
        loans_after_retry=len(burst),
    )


async def count_loans(dsn: str) -> int:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM loans"))
    finally:
        await conn.close()


async def loans_per_request(dsn: str) -> set[int]:
    """How many loans each (customer, amount) of the burst booked: 1 for every one."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch("SELECT count(*) AS n FROM loans GROUP BY customer_id, loan_amount")
        return {row["n"] for row in rows}
    finally:
        await conn.close()
