"""A worker that dies in the middle of a job never leaves it `active` forever.

The worker (`credit workers run`, on a private Redis and a queue of its own) is killed with
SIGKILL while it runs an ingestion. The job stops being touched; once its heartbeat
(`JOB_HEARTBEAT_SECONDS`, 2 s here) has passed, the next worker's sweep fails it with a clear
message, and the same upload sent again is loaded by that worker. Before, the job had no
heartbeat, and stayed `active` until its one-hour timeout. Nothing of the killed attempt is
in the book (one transaction: test_faults.py).
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from dataclasses import replace
from pathlib import Path

import anyio
import redis
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.modules.ingest.sample import write_sample_book
from credit.settings import Settings
from tests.conftest import TODAY
from tests.integration.figures import record
from tests.integration.private_services import PrivateRedis, stop_worker
from tests.integration.test_faults import _job, _start_worker, private_redis  # noqa: F401
from tests.integration.test_ingest_http import upload, wait_for

CUSTOMERS, LOANS = 3_000, 9_000
HEARTBEAT_S = 2


async def test_a_job_whose_worker_died_is_failed_not_left_active(
    settings: Settings,
    private_redis: PrivateRedis,  # noqa: F811
    tmp_path: Path,
) -> None:
    book = await anyio.to_thread.run_sync(
        lambda: write_sample_book(tmp_path / "book", CUSTOMERS, LOANS, seed=5)
    )
    queued = replace(
        settings,
        redis_url=private_redis.url,
        queue_name=f"death-{uuid.uuid4().hex[:8]}",
        job_heartbeat_seconds=HEARTBEAT_S,
        rate_limit_per_second=0,
    )
    log = tmp_path / "worker.log"
    worker = await anyio.to_thread.run_sync(_start_worker, queued, log)
    try:
        async with AsyncTestClient(app=create_app(queued, clock=FixedClock(TODAY))) as client:
            accepted = await client.post(
                "/api/ingest", files=upload(book.customers_path, book.loans_path)
            )
            assert accepted.status_code == 202
            job_id = accepted.json()["job_id"]
            deadline = time.monotonic() + 120
            while (await _job(client, job_id))["status"] != "active":
                assert time.monotonic() < deadline, log.read_text(errors="replace")
                await asyncio.sleep(0.02)
            worker.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            await anyio.to_thread.run_sync(worker.wait)
            assert (await _job(client, job_id))["status"] == "active"

            # The next worker sweeps at its start. The dead one's sweep holds a one-minute
            # lock between sweeps; the test does not wait it out.
            await asyncio.sleep(HEARTBEAT_S + 1)
            with redis.Redis.from_url(private_redis.url) as server:
                server.delete(f"saq:{queued.queue_name}:sweep")
            worker = await anyio.to_thread.run_sync(_start_worker, queued, log)
            deadline = time.monotonic() + 180
            while (state := await _job(client, job_id))["status"] not in ("complete", "failed"):
                assert time.monotonic() < deadline, (state, log.read_text(errors="replace"))
                await asyncio.sleep(0.2)
            assert state["status"] == "failed", state
            failed_after_s = time.monotonic() - killed_at
            assert state["error"].startswith("The worker running this job stopped"), state

            again = await client.post(
                "/api/ingest", files=upload(book.customers_path, book.loans_path)
            )
            done = await wait_for(client, again.json()["job_id"])
            assert done["status"] == "complete", done
            assert done["report"]["customers"]["inserted"] == CUSTOMERS
            assert done["report"]["loans"]["rows"] == LOANS
    finally:
        stop_worker(worker, timeout=20)
    record(
        f"worker-death-{'sqlite' if settings.is_embedded else 'postgres'}",
        heartbeat_s=HEARTBEAT_S,
        failed_after_kill_s=round(failed_after_s, 1),
        rerun_customers=CUSTOMERS,
        rerun_loans=LOANS,
    )
