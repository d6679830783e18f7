"""The real SAQ worker (`credit workers run`) on the local Redis and PostgreSQL.

The web side is the app with `REDIS_URL` set: it only stores the upload and enqueues. The
worker is a separate process started from the `credit` console script, on a queue name of
its own so parallel test runs never take each other's jobs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.cli import credit
from credit.settings import Settings
from tests.conftest import empty_tables, in_own_loop
from tests.ingest_workbooks import SAMPLE_BOOK, Book, small_book
from tests.integration.book import count_rows, loaded_as_of
from tests.integration.private_services import stop_worker, wait_for_first_sweep
from tests.integration.test_ingest_http import upload, wait_for


@pytest.fixture
def queue_name(redis_url: str) -> Iterator[str]:
    """A queue of the test's own; its keys (finished jobs are kept 7 days) go with it."""
    name = f"credit-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(f"saq:*{name}*"):
            client.delete(key)
    finally:
        client.close()


@pytest.fixture
def worker(
    postgres_url: str, redis_url: str, queue_name: str, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    env = os.environ | {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "QUEUE_NAME": queue_name,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    credit = Path(sys.executable).with_name("credit")
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [str(credit), "workers", "run"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    wait_for_first_sweep(process, redis_url, queue_name)
    yield process
    stop_worker(process, timeout=15)
    log.close()
    in_own_loop(empty_tables(postgres_url))


async def test_saq_worker_ingests_an_upload(
    worker: subprocess.Popen[bytes],
    postgres_url: str,
    redis_url: str,
    queue_name: str,
    book: Book,
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=postgres_url,
        redis_url=redis_url,
        queue_name=queue_name,
        upload_dir=tmp_path / "uploads",
        sample_data_dir=None,
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        accepted = await client.post("/api/ingest", files=upload(book.customers, book.loans))
        assert accepted.status_code == 202
        done = await wait_for(client, accepted.json()["job_id"])
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert worker.poll() is None, log
    # The job's error first: pytest shortens long messages, and the log is long.
    assert done["status"] == "complete", (done.get("error"), done, log[-4000:])
    assert done["report"]["loans"]["inserted"] == book.loan_rows
    assert len(done["report"]["remappings"]) == book.remapped_rows()
    assert await count_rows(postgres_url) == (book.customer_rows, book.loan_rows)


async def test_a_failed_job_is_logged_under_the_api_id_and_an_idle_worker_stops_quietly(
    worker: subprocess.Popen[bytes],
    postgres_url: str,
    redis_url: str,
    queue_name: str,
    tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=postgres_url,
        redis_url=redis_url,
        queue_name=queue_name,
        upload_dir=tmp_path / "uploads",
        sample_data_dir=None,
    )
    customers, loans = small_book(tmp_path / "book", customers=[])  # no data rows: fails
    async with AsyncTestClient(app=create_app(settings)) as client:
        accepted = await client.post("/api/ingest", files=upload(customers, loans))
        assert accepted.status_code == 202
        job_id = accepted.json()["job_id"]
        done = await wait_for(client, job_id)
    assert done["status"] == "failed"
    stop_worker(worker, timeout=15)  # idle again: SIGTERM must stop it without a warning
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert worker.returncode == 0, log[-4000:]
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line.get("event") == "job finished"]
    assert [line["job_id"] for line in finished] == [job_id], finished
    assert finished[0]["error"] == done["error"]
    assert "no data rows" in finished[0]["error"]
    assert finished[0]["error_type"] == "IngestError"
    assert "saq:job:" not in json.dumps([line for line in lines if "job" in line.get("event", "")])
    assert "did not finish" not in log, log[-4000:]


def test_credit_ingest_through_the_worker_loads_the_book_as_of_credit_today(
    worker: subprocess.Popen[bytes],
    postgres_url: str,
    redis_url: str,
    queue_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `REDIS_URL` the worker loads the book, as of the command's `CREDIT_TODAY` (the
    worker itself runs without one: the day travels with the job)."""
    for name, value in {
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        "QUEUE_NAME": queue_name,
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "SAMPLE_DATA_DIR": "",
        "CREDIT_TODAY": "2020-01-01",
    }.items():
        monkeypatch.setenv(name, value)
    args = ["ingest", str(SAMPLE_BOOK.customers), str(SAMPLE_BOOK.loans)]
    result = CliRunner().invoke(credit, args, prog_name="credit")
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert result.exit_code == 0, (result.output, log[-4000:])
    days, settled_after = in_own_loop(loaded_as_of(postgres_url))
    assert days == {date(2020, 1, 1)}
    assert settled_after == 0
