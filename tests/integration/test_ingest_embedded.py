"""The embedded first start: a fresh SQLite database is migrated and gets the sample book."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.modules.ingest import sample_loader
from credit.modules.ingest.reader import read_customers, read_loans
from credit.settings import Settings
from tests.integration.book import count_rows

SAMPLE = Path(__file__).resolve().parents[2] / "data"


def startup_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    out = capsys.readouterr().out
    return [line for line in out.splitlines() if '"logger":"credit.startup"' in line]


async def test_first_start_loads_the_sample_book_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    settings = Settings(database_url=url, sample_data_dir=SAMPLE, upload_dir=tmp_path / "up")
    expected = (
        read_customers(SAMPLE / "customer_data.xlsx").valid.height,
        read_loans(SAMPLE / "loan_data.xlsx").valid.height,
    )
    assert expected == (200, 600)

    capsys.readouterr()
    async with AsyncTestClient(app=create_app(settings)) as client:
        profile = await client.get("/api/customers/1")
        assert profile.status_code == 200
    assert await count_rows(url) == expected
    # Start-up says which file is served and what went into it.
    first = startup_lines(capsys)
    assert any(
        f"sample book loaded from {SAMPLE}: 200 customers, 600 loans" in line for line in first
    )
    assert any(
        f"serving database sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}" in line
        for line in first
    )

    # A second start finds a book and leaves it alone.
    async def must_not_run(*_: object) -> None:
        raise AssertionError("the sample book was loaded into a database that has one")

    monkeypatch.setattr(sample_loader, "ingest_workbooks", must_not_run)
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/api/customers/200")).status_code == 200
    assert await count_rows(url) == expected
    assert any(
        "sample book skipped: the database already holds a book" in line
        for line in startup_lines(capsys)
    )


async def test_sample_turned_off_is_said_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    settings = Settings(database_url=url, sample_data_dir=None, upload_dir=tmp_path / "up")
    capsys.readouterr()
    async with AsyncTestClient(app=create_app(settings)):
        pass
    lines = startup_lines(capsys)
    assert any("sample book skipped: SAMPLE_DATA_DIR is empty" in line for line in lines)
    assert await count_rows(url) == (0, 0)


async def test_no_sample_directory_means_an_empty_book(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.sqlite3'}"
    settings = Settings(database_url=url, sample_data_dir=tmp_path / "nothing-here")
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/api/customers/1")).status_code == 404
    assert await count_rows(url) == (0, 0)
