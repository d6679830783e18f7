"""Injected faults against real services the tests start themselves (never the shared ones).

- PostgreSQL is stopped under traffic: answers are 503 JSON within a bound, `/ready` names the
  database, and the same app serves again once the server is back, with no restart.
- Redis is stopped: `POST /api/ingest` and `credit ingest` fail fast with a clear message
  while the rest of the API (rate limits included) keeps serving.
- The SAQ worker is SIGKILLed in the middle of an ingestion: nothing partial is visible, and
  running the job again loads exactly the right rows.
- 50 concurrent create-loan requests for one customer race an ingestion of an updated book:
  the contract's invariants hold afterwards.

Figures (requests sent, faults injected, rows checked) go to var/test-figures/faults.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.db.migrations import upgrade_database
from credit.modules.ingest.sample import write_sample_book
from credit.settings import Settings
from tests.conftest import TODAY
from tests.ingest_workbooks import customer, loan, small_book
from tests.integration.private_services import (
    PrivatePostgres,
    PrivateRedis,
    stop_worker,
    wait_for_first_sweep,
)
from tests.integration.test_ingest_http import upload, wait_for

# One xdist worker runs them all: they add to one figures file.
pytestmark = pytest.mark.xdist_group("faults")
Client = AsyncTestClient[Litestar]
CREDIT_CLI = [sys.executable, "-c", "from credit.cli import main; main()"]
FIGURES = Path(__file__).resolve().parents[2] / "var" / "test-figures" / "faults.json"
# A request may take this long while a dependency is down (connect timeout 5 s + margin).
ANSWER_BOUND_S = 8.0
# Big enough that writing takes a few seconds, so the worker can be killed in the middle.
BIG_CUSTOMERS, BIG_LOANS = 8_000, 24_000
DATABASE_DOWN = "The database is unavailable; try again shortly."
PERSON = {"first_name": "Ira", "last_name": "Sen", "age": 41, "monthly_income": 90_000}


def record(name: str, **figures: Any) -> None:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    current[name] = figures
    FIGURES.write_text(json.dumps(current, indent=2, sort_keys=True))


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


async def _create_database(server: PrivatePostgres) -> str:
    name = f"credit_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server.admin_dsn, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server.url(name)


def _is_json_error(response: Any, status: int) -> bool:
    if response.status_code != status:
        return False
    body = response.json()
    return body.get("status_code") == status and isinstance(body.get("detail"), str)


async def test_postgres_outage_gives_503_then_recovers_by_itself(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    url = await _create_database(private_postgres)
    settings = Settings(
        database_url=url, sample_data_dir=None, upload_dir=tmp_path, rate_limit_per_second=0
    )
    await anyio.to_thread.run_sync(upgrade_database, settings)
    answers: list[tuple[int, float, str]] = []

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

        async def traffic(stop: anyio.Event) -> None:
            while not stop.is_set():
                for method, path, body in (
                    ("GET", f"/api/customers/{customer}", None),
                    ("POST", "/api/check-eligibility", eligibility),
                    ("GET", f"/api/view-loans/{customer}", None),
                ):
                    started = time.monotonic()
                    response = await client.request(method, path, json=body)
                    answers.append(
                        (response.status_code, time.monotonic() - started, response.text)
                    )
                await asyncio.sleep(0.02)

        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(traffic, stop)
            await asyncio.sleep(0.5)
            served_before = len(answers)
            await anyio.to_thread.run_sync(private_postgres.stop)
            await asyncio.sleep(3)
            # While it is down: every kind of request answers 503 JSON, quickly.
            started = time.monotonic()
            register = await client.post(
                "/api/register", json=PERSON | {"phone_number": 9_400_000_002}
            )
            assert time.monotonic() - started < ANSWER_BOUND_S
            assert _is_json_error(register, 503), register.text
            ready = await client.get("/ready")
            assert ready.status_code == 503
            assert "database" in ready.json()["detail"]
            assert ready.json()["extra"]["checks"]["database"] != "ok"
            assert (await client.get("/health")).status_code == 200
            stop.set()
        during = answers[served_before:]
        assert during, "no traffic while the database was down"
        assert all(status in (200, 503) for status, _, _ in answers), {s for s, _, _ in answers}
        assert sum(status == 503 for status, _, _ in during) >= 3
        for status, elapsed, text in answers:
            assert elapsed < ANSWER_BOUND_S, (status, elapsed)
            if status == 503:
                assert (
                    json.loads(text)["detail"] == "The database is unavailable; try again shortly."
                )

        # Back up: the same app recovers by itself (stale pooled connections are replaced).
        await anyio.to_thread.run_sync(private_postgres.start)
        recovered_after = None
        started = time.monotonic()
        while time.monotonic() - started < 30:
            response = await client.get(f"/api/customers/{customer}")
            if response.status_code == 200:
                recovered_after = time.monotonic() - started
                break
            assert _is_json_error(response, 503), response.text
            await asyncio.sleep(0.2)
        assert recovered_after is not None, "the service did not recover within 30 s"
        assert (await client.get("/ready")).status_code == 200
        again = await client.post("/api/register", json=PERSON | {"phone_number": 9_400_000_003})
        assert again.status_code == 201
    record(
        "postgres_outage",
        requests_during_outage=len(during),
        answered_503=sum(s == 503 for s, _, _ in during),
        slowest_answer_s=round(max(e for _, e, _ in answers), 3),
        recovered_after_s=round(recovered_after, 2),
    )


async def test_redis_outage_fails_ingestion_fast_and_the_api_keeps_serving(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'redis-fault.sqlite3'}"
    settings = Settings(
        database_url=url,
        sample_data_dir=None,
        upload_dir=tmp_path / "uploads",
        redis_url=private_redis.url,
        queue_name=f"fault-{uuid.uuid4().hex[:8]}",
        rate_limit_per_second=1000,  # counted in this Redis: must degrade, not fail
    )
    await anyio.to_thread.run_sync(upgrade_database, settings)
    customers, loans = small_book(tmp_path)
    async with AsyncTestClient(app=create_app(settings, clock=FixedClock(TODAY))) as client:
        accepted = await client.post("/api/ingest", files=upload(customers, loans))
        assert accepted.status_code == 202  # queued while Redis is up (no worker needed)
        await anyio.to_thread.run_sync(private_redis.stop)

        started = time.monotonic()
        refused = await client.post("/api/ingest", files=upload(customers, loans))
        elapsed = time.monotonic() - started
        assert _is_json_error(refused, 503), refused.text
        assert "job queue" in refused.json()["detail"]
        assert elapsed < ANSWER_BOUND_S
        status = await client.get(f"/api/ingest/{accepted.json()['job_id']}")
        assert _is_json_error(status, 503)
        # Only the accepted upload waits in the upload directory; the refused one left nothing.
        assert len([p for p in settings.upload_dir.iterdir() if p.is_dir()]) == 1

        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["extra"]["checks"]["redis"] != "ok"
        assert ready.json()["extra"]["checks"]["database"] == "ok"
        served = []
        registered = await client.post(
            "/api/register", json=PERSON | {"phone_number": 9_400_000_010}
        )
        served.append(registered.status_code)
        customer = registered.json()["customer_id"]
        for path in (f"/api/customers/{customer}", f"/api/view-loans/{customer}"):
            served.append((await client.get(path)).status_code)
        loan = {"customer_id": customer, "loan_amount": 50_000, "interest_rate": 14, "tenure": 6}
        served.append((await client.post("/api/create-loan", json=loan)).status_code)
        assert served == [201, 200, 200, 201]

    cli_started = time.monotonic()
    cli = await anyio.to_thread.run_sync(
        lambda: subprocess.run(
            [*CREDIT_CLI, "ingest", str(customers), str(loans)],
            env=os.environ
            | {
                "DATABASE_URL": url,
                "REDIS_URL": private_redis.url,
                "SAMPLE_DATA_DIR": "",
                "UPLOAD_DIR": str(tmp_path / "cli-uploads"),
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    )
    cli_elapsed = time.monotonic() - cli_started
    output = cli.stdout + cli.stderr
    assert cli.returncode == 1, output
    assert "job queue (Redis at REDIS_URL) is unreachable" in output
    assert "Traceback" not in output
    record(
        "redis_outage",
        http_refusal_s=round(elapsed, 3),
        cli_exit_s=round(cli_elapsed, 1),
        api_requests_served_while_down=len(served) + 1,
    )


async def _count_book(dsn: str) -> tuple[int, int]:
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"), timeout=10)
    try:
        customers = await conn.fetchval("SELECT count(*) FROM customers")
        loans = await conn.fetchval("SELECT count(*) FROM loans")
    finally:
        await conn.close()
    return int(customers), int(loans)


def _start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`credit workers run`, returned once it has swept its queue (`wait_for_first_sweep`)."""
    env = os.environ | {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": str(settings.redis_url),
        "QUEUE_NAME": settings.queue_name,
        "UPLOAD_DIR": str(settings.upload_dir),
        "SAMPLE_DATA_DIR": "",
    }
    with log.open("ab") as out:
        worker = subprocess.Popen(
            [*CREDIT_CLI, "workers", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    wait_for_first_sweep(worker, str(settings.redis_url), settings.queue_name)
    return worker


async def _job(client: Client, job_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/ingest/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


WRITING_STAGES = {"writing customers", "reading loans", "writing loans", "committing"}


async def test_worker_killed_mid_ingestion_leaves_nothing_partial_and_rerun_is_exact(
    private_postgres: PrivatePostgres, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    book = await anyio.to_thread.run_sync(
        lambda: write_sample_book(tmp_path / "book", BIG_CUSTOMERS, BIG_LOANS, seed=11)
    )
    url = await _create_database(private_postgres)
    settings = Settings(
        database_url=url,
        sample_data_dir=None,
        upload_dir=tmp_path / "uploads",
        redis_url=private_redis.url,
        queue_name=f"kill-{uuid.uuid4().hex[:8]}",
        rate_limit_per_second=0,
    )
    await anyio.to_thread.run_sync(upgrade_database, settings)
    log = tmp_path / "worker.log"
    worker = await anyio.to_thread.run_sync(_start_worker, settings, log)
    try:
        async with AsyncTestClient(app=create_app(settings, clock=FixedClock(TODAY))) as client:
            accepted = await client.post(
                "/api/ingest", files=upload(book.customers_path, book.loans_path)
            )
            assert accepted.status_code == 202
            first = accepted.json()["job_id"]
            killed_at = None
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                state = await _job(client, first)
                assert state["status"] != "complete", "the job ended before it could be killed"
                stage = (state.get("progress") or {}).get("stage")
                if stage in WRITING_STAGES:
                    worker.send_signal(signal.SIGKILL)
                    worker.wait(timeout=30)
                    killed_at = stage
                    break
                await asyncio.sleep(0.02)
            assert killed_at, log.read_text(errors="replace")
            # Nothing of the half-done job is visible: one transaction, never committed.
            assert await _count_book(url) == (0, 0)
            profile = await client.get("/api/customers/1")
            assert profile.status_code == 404

            worker = await anyio.to_thread.run_sync(_start_worker, settings, log)
            again = await client.post(
                "/api/ingest", files=upload(book.customers_path, book.loans_path)
            )
            assert again.status_code == 202
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                done = await _job(client, again.json()["job_id"])
                if done["status"] in ("complete", "failed"):
                    break
                await asyncio.sleep(0.2)
            assert done["status"] == "complete", (done, log.read_text(errors="replace"))
            assert done["report"]["customers"]["inserted"] == BIG_CUSTOMERS
            assert done["report"]["loans"]["inserted"] == BIG_LOANS
            assert await _count_book(url) == (BIG_CUSTOMERS, BIG_LOANS)
    finally:
        stop_worker(worker, timeout=20)
    record(
        "worker_sigkill",
        killed_during_stage=killed_at,
        rows_visible_after_kill=0,
        customers_after_rerun=BIG_CUSTOMERS,
        loans_after_rerun=BIG_LOANS,
    )


TARGET = 1
BOOKINGS = 50


def _books(folder: Path) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    """The book before and after an update: the target's salary and limit go up, it gets an
    ended loan, and the other customers get a few thousand loans (so ingestion takes time)."""
    others = range(2, 41)
    before = small_book(
        folder / "before",
        [customer(TARGET, **{"Monthly Salary": 100_000, "Approved Limit": 3_600_000})]
        + [customer(c) for c in others],
        [loan(c, 10_000 + c) for c in others],
    )
    after = small_book(
        folder / "after",
        [customer(TARGET, **{"Monthly Salary": 120_000, "Approved Limit": 4_300_000})]
        + [customer(c) for c in others],
        [
            loan(
                TARGET,
                9_999,
                **{"Date of Approval": date(2019, 5, 1), "End Date": date(2020, 5, 1)},
            )
        ]
        + [loan(c, 10_000 + c) for c in others]
        + [loan(2 + n % 39, 20_000 + n) for n in range(3_000)],
    )
    return before, after


async def _invariants(dsn: str, today: date) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"), timeout=10)
    try:
        income, limit = await conn.fetchrow(
            "SELECT monthly_income, approved_limit FROM customers WHERE id = $1", TARGET
        )
        current = await conn.fetch(
            "SELECT loan_amount, monthly_installment, source_loan_id FROM loans "
            "WHERE customer_id = $1 AND end_date > $2",
            TARGET,
            today,
        )
        loans_total = await conn.fetchval("SELECT count(*) FROM loans")
    finally:
        await conn.close()
    return {
        "income": income,
        "limit": limit,
        "booked": sum(1 for row in current if row["source_loan_id"] is None),
        "amounts": sum((row["loan_amount"] for row in current), Decimal(0)),
        "emis": sum((row["monthly_installment"] for row in current), Decimal(0)),
        "loans_total": loans_total,
    }


async def test_concurrent_bookings_and_ingestion_keep_the_invariants(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    (before_customers, before_loans), (after_customers, after_loans) = _books(tmp_path)
    url = await _create_database(private_postgres)
    settings = Settings(
        database_url=url, sample_data_dir=None, upload_dir=tmp_path / "up", rate_limit_per_second=0
    )
    await anyio.to_thread.run_sync(upgrade_database, settings)
    request = {"customer_id": TARGET, "loan_amount": 200_000, "interest_rate": 14, "tenure": 24}
    app = create_app(settings, clock=FixedClock(TODAY))
    # httpx's ASGI transport runs every request on this loop, so the 50 requests and the
    # ingestion job really overlap (Litestar's test client would send them one at a time).
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        first = await client.post("/api/ingest", files=upload(before_customers, before_loans))
        done = await wait_for(client, first.json()["job_id"])
        assert done["status"] == "complete", done

        async def ingest_update() -> dict[str, Any]:
            accepted = await client.post("/api/ingest", files=upload(after_customers, after_loans))
            assert accepted.status_code == 202
            return await wait_for(client, accepted.json()["job_id"])

        results = await asyncio.gather(
            ingest_update(),
            *(client.post("/api/create-loan", json=request) for _ in range(BOOKINGS)),
        )
    update, bookings = results[0], results[1:]
    assert update["status"] == "complete", update
    statuses = [response.status_code for response in bookings]
    # 503 is allowed back-pressure (the pool waits at most 10 s while the book is locked).
    assert set(statuses) <= {200, 201, 503}, [(r.status_code, r.text) for r in bookings]
    approved = statuses.count(201)
    state = await _invariants(url, TODAY)
    # Nothing lost: every 201 is one current loan booked through the API.
    assert state["booked"] == approved
    assert approved >= 1
    # The contract's rules hold for the customer's current loans afterwards.
    assert state["amounts"] <= state["limit"]
    assert state["emis"] <= state["income"] * Decimal("0.5")
    assert state["income"] == 120_000  # the update landed
    assert state["loans_total"] == 39 + 1 + 3_000 + approved
    record(
        "concurrent_bookings_and_ingestion",
        create_loan_requests=BOOKINGS,
        approved=approved,
        refused=statuses.count(200),
        unavailable=statuses.count(503),
        rows_ingested_concurrently=update["report"]["loans"]["inserted"]
        + update["report"]["customers"]["inserted"]
        + update["report"]["customers"].get("updated", 0),
        loans_checked=state["loans_total"],
    )
