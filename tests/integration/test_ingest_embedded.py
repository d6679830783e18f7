"""The embedded first start: a fresh SQLite database is migrated and gets the sample book."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.modules.ingest.reader import read_customers, read_loans
from credit.plugins import embedded
from credit.settings import Settings
from tests.integration.book import count_rows

SAMPLE = Path(__file__).resolve().parents[2] / "data"


async def test_first_start_loads_the_sample_book_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    settings = Settings(database_url=url, sample_data_dir=SAMPLE, upload_dir=tmp_path / "up")
    expected = (
        read_customers(SAMPLE / "customer_data.xlsx").valid.height,
        read_loans(SAMPLE / "loan_data.xlsx").valid.height,
    )
    assert expected == (200, 600)

    async with AsyncTestClient(app=create_app(settings)) as client:
        profile = await client.get("/api/customers/1")
        assert profile.status_code == 200
    assert await count_rows(url) == expected

    # A second start finds a book and leaves it alone.
    async def must_not_run(*_: object) -> None:
        raise AssertionError("the sample book was loaded into a database that has one")

    monkeypatch.setattr(embedded, "ingest_workbooks", must_not_run)
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/api/customers/200")).status_code == 200
    assert await count_rows(url) == expected


async def test_no_sample_directory_means_an_empty_book(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    settings = Settings(database_url=url, sample_data_dir=tmp_path / "nothing-here")
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/api/customers/1")).status_code == 404
    assert await count_rows(url) == (0, 0)
