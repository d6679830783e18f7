"""`POST /api/ingest` and `GET /api/ingest/{job_id}` with the in-process runner (embedded)."""

from __future__ import annotations

import asyncio
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.modules.ingest.sample import write_sample_book
from credit.settings import Settings
from tests.ingest_workbooks import Book, small_book
from tests.integration.book import count_rows

Client = AsyncTestClient[Litestar]
POLL_SECONDS, TIMEOUT_SECONDS = 0.1, 60


def upload(customers: Path, loans: Path) -> dict[str, Any]:
    return {
        "customers": ("customer_data.xlsx", customers.read_bytes()),
        "loans": ("loan_data.xlsx", loans.read_bytes()),
    }


async def wait_for(client: Client, job_id: str) -> dict[str, Any]:
    for _ in range(int(TIMEOUT_SECONDS / POLL_SECONDS)):
        response = await client.get(f"/api/ingest/{job_id}")
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        if body["status"] in ("complete", "failed"):
            return body
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"job {job_id} did not finish in {TIMEOUT_SECONDS} s")


async def test_upload_is_ingested_in_the_background(
    client: Client, settings: Settings, book: Book
) -> None:
    accepted = await client.post("/api/ingest", files=upload(book.customers, book.loans))
    assert accepted.status_code == 202
    job_id = accepted.json()["job_id"]

    done = await wait_for(client, job_id)
    assert done["status"] == "complete"
    rows = book.customer_rows + book.loan_rows
    assert done["progress"] == {"stage": "done", "rows_done": rows}
    report = done["report"]
    assert report["customers"]["inserted"] == book.customer_rows
    assert report["loans"]["inserted"] == book.loan_rows
    assert len(report["remappings"]) == book.remapped_rows()
    assert await count_rows(settings.database_url) == (book.customer_rows, book.loan_rows)
    # The uploaded copies are removed once read.
    assert not any(p.is_file() for p in settings.upload_dir.rglob("*"))


async def test_a_broken_upload_fails_the_job_with_its_reason(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    """A zip with a workbook's parts passes the check at the door (parts that are not even
    that get 400: test_hostile_workbooks.py); its sheet, not XML, fails the job."""
    customers, loans = small_book(tmp_path)
    not_a_workbook = tmp_path / "notes.xlsx"
    with zipfile.ZipFile(loans) as good, zipfile.ZipFile(not_a_workbook, "w") as broken:
        for info in good.infolist():
            sheet = info.filename == "xl/worksheets/sheet1.xml"
            broken.writestr(info.filename, b"hello" if sheet else good.read(info))
    accepted = await client.post("/api/ingest", files=upload(customers, not_a_workbook))
    done = await wait_for(client, accepted.json()["job_id"])
    assert done["status"] == "failed"
    assert "not an Excel workbook" in done["error"]
    assert done["report"] is None
    assert await count_rows(settings.database_url) == (0, 0)


async def test_unknown_job_is_404(client: Client) -> None:
    response = await client.get("/api/ingest/no-such-job")
    assert response.status_code == 404
    assert response.json()["status_code"] == 404


async def test_upload_over_the_limit_is_413(settings: Settings, tmp_path: Path) -> None:
    # Over the limit even with the room left for the multipart framing.
    book = write_sample_book(tmp_path / "book", customers=300, loans=3_000, seed=2)
    app = create_app(replace(settings, max_upload_bytes=10_000))
    async with AsyncTestClient(app=app) as client:
        response = await client.post(
            "/api/ingest", files=upload(book.customers_path, book.loans_path)
        )
    assert response.status_code == 413
    assert response.json()["status_code"] == 413
    assert not settings.upload_dir.exists() or not any(settings.upload_dir.iterdir())


async def test_uploads_above_the_api_body_limit_but_within_the_upload_limit_are_taken(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    book = write_sample_book(tmp_path / "book", customers=300, loans=25_000, seed=5)
    size = book.customers_path.stat().st_size + book.loans_path.stat().st_size
    assert settings.max_request_body_bytes < size < settings.max_upload_bytes
    accepted = await client.post("/api/ingest", files=upload(book.customers_path, book.loans_path))
    assert accepted.status_code == 202
    done = await wait_for(client, accepted.json()["job_id"])
    assert done["status"] == "complete"
    assert done["report"]["loans"]["inserted"] == 25_000
