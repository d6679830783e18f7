"""`credit ingest` without Redis: the ingestion runs in the command's own process (with
Redis: tests/integration/test_ingest_worker.py).

The tests are plain functions: the command runs its own event loop."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from credit.cli import credit
from tests.cli_process import imported_after
from tests.conftest import empty_tables, in_own_loop
from tests.ingest_workbooks import SAMPLE_BOOK, small_book
from tests.integration.book import count_rows, loaded_as_of


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SAMPLE_DATA_DIR", "")
    monkeypatch.delenv("REDIS_URL", raising=False)
    return url


def test_ingest_shows_the_stages_then_the_report(embedded: str, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    args = ["ingest", str(SAMPLE_BOOK.customers), str(SAMPLE_BOOK.loans), "--report", str(report)]
    result = CliRunner().invoke(credit, args, prog_name="credit")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    stages = [line.strip().split(" (")[0] for line in lines if line.startswith("  ")]
    assert stages[:6] == [
        "starting",
        "reading",
        "writing customers",
        "reading loans",
        "writing loans",
        "committing",
    ]
    assert any(line.startswith("ingestion complete in ") for line in lines)
    assert f"customers: {SAMPLE_BOOK.customer_rows} rows" in result.output
    assert f"remapped loan ids: {SAMPLE_BOOK.remapped_rows()}" in result.output
    assert f"the whole report: {report}" in result.output
    assert report.read_text().count('"source_loan_id"') == SAMPLE_BOOK.remapped_rows()
    assert in_own_loop(count_rows(embedded)) == (SAMPLE_BOOK.customer_rows, SAMPLE_BOOK.loan_rows)


def test_a_failed_ingest_ends_with_the_reason_and_exits_1(embedded: str, tmp_path: Path) -> None:
    customers, _ = small_book(tmp_path / "book")
    notes = tmp_path / "notes.xlsx"
    notes.write_text("not a workbook")
    result = CliRunner().invoke(credit, ["ingest", str(customers), str(notes)], prog_name="credit")
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("ingestion failed after ")
    assert "The loans file 'notes.xlsx' is not an Excel workbook" in last
    assert in_own_loop(count_rows(embedded)) == (0, 0)


def test_ingest_on_postgresql_loads_the_book_without_the_web_framework(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process of its own, as an operator runs it: the book goes in, and neither Litestar,
    Advanced Alchemy nor SAQ was imported for it (they cost the command its start-up)."""
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("SAMPLE_DATA_DIR", "")
    monkeypatch.delenv("REDIS_URL", raising=False)
    try:
        imported = imported_after("ingest", str(SAMPLE_BOOK.customers), str(SAMPLE_BOOK.loans))
        loaded = in_own_loop(count_rows(postgres_url))
    finally:
        in_own_loop(empty_tables(postgres_url))
    assert loaded == (SAMPLE_BOOK.customer_rows, SAMPLE_BOOK.loan_rows)
    assert {"polars", "fastexcel", "asyncpg", "sqlalchemy"} <= imported
    assert not imported & {"litestar", "advanced_alchemy", "saq"}


def test_ingest_loads_the_book_as_of_credit_today(
    embedded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`CREDIT_TODAY` is the command's today, as the app's (docs/decisions.md): every loan is
    loaded as of that day, and none that started after it has an installment settled."""
    monkeypatch.setenv("CREDIT_TODAY", "2020-01-01")
    args = ["ingest", str(SAMPLE_BOOK.customers), str(SAMPLE_BOOK.loans)]
    result = CliRunner().invoke(credit, args, prog_name="credit")
    assert result.exit_code == 0, result.output
    days, settled_after = in_own_loop(loaded_as_of(embedded))
    assert days == {date(2020, 1, 1)}
    assert settled_after == 0
