"""Faults of the lender's day on PostgreSQL, with the operator's commands as real processes:

- `credit payments import` SIGKILLed midway: what it committed stays, and the rerun applies
  every other row, each exactly once;
- `credit close-day` SIGKILLed midway: the date is not closed, nothing of it is kept, and the
  rerun closes it once.
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
from datetime import date
from decimal import Decimal
from pathlib import Path

import anyio
import asyncpg
import pytest

from credit.db.migrations import upgrade_database
from credit.lending.servicing import LoanTerms, stored_state
from credit.modules.ingest.sample import write_sample_book
from credit.settings import Settings

pytestmark = pytest.mark.xdist_group("lenders_day_faults")
CREDIT = [sys.executable, "-c", "from credit.cli import main; main()"]
TODAY = date(2026, 6, 1)
CUSTOMERS, LOANS = 3_000, 30_000


@pytest.fixture
async def book_dsn(pg_admin_dsn: str, tmp_path: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A fresh database with a generated book loaded as of TODAY by `credit ingest`."""
    name = f"credit_faults_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = pg_admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    await anyio.to_thread.run_sync(
        upgrade_database, Settings(database_url=url, sample_data_dir=None)
    )
    book = await anyio.to_thread.run_sync(
        lambda: write_sample_book(tmp_path / "book", CUSTOMERS, LOANS, seed=5)
    )
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "LITESTAR_APP"}}
    env.update(
        DATABASE_URL=url,
        SAMPLE_DATA_DIR="",
        LOG_LEVEL="WARNING",
        CREDIT_TODAY=TODAY.isoformat(),
        PYTHONUNBUFFERED="1",
    )
    done = await anyio.to_thread.run_sync(
        lambda: _run(["ingest", str(book.customers_path), str(book.loans_path)], env)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    try:
        yield dsn, env
    finally:
        admin = await asyncpg.connect(pg_admin_dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _collections_file(dsn: str, path: Path) -> int:
    """One row per current loan: the installment it asks for, paid today."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id, customer_id, loan_amount, interest_rate, tenure, start_date, "
            "monthly_installment, installments_settled FROM loans "
            "WHERE installments_settled < tenure AND start_date <= $1 ORDER BY id",
            TODAY,
        )
    finally:
        await conn.close()
    lines = ["Reference,Customer ID,Loan ID,Amount,Paid On"]
    for r in rows:
        terms = LoanTerms(
            Decimal(r["loan_amount"]), Decimal(r["interest_rate"]), r["tenure"], r["start_date"]
        )
        due = stored_state(
            terms, Decimal(r["monthly_installment"]), r["installments_settled"], None, None
        ).amount_due
        lines.append(f"K{r['id']},{r['customer_id']},{r['id']},{due},{TODAY.isoformat()}")
    await anyio.Path(path).write_text("\n".join(lines) + "\n")
    return len(rows)


async def _scalar(dsn: str, sql: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CREDIT, *args], env=env, capture_output=True, text=True)


async def test_an_import_killed_midway_loses_nothing_and_the_rerun_applies_the_rest(
    book_dsn: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    dsn, env = book_dsn
    path = tmp_path / "collections.csv"
    rows = await _collections_file(dsn, path)
    assert rows > 4_000  # more than one chunk of loans
    # Started, not waited for: the test watches the database and kills it.
    process = subprocess.Popen(  # noqa: ASYNC220
        [*CREDIT, "payments", "import", str(path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed_with = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        applied = await _scalar(dsn, "SELECT count(*) FROM payments")
        if applied > 0:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            killed_with = await _scalar(dsn, "SELECT count(*) FROM payments")
            break
        await asyncio.sleep(0.01)
    assert killed_with is not None, "the import ended before it could be killed"
    assert 0 < killed_with < rows
    # What was committed is whole: each recorded payment moved its loan on.
    moved = await _scalar(
        dsn,
        "SELECT count(*) FROM loans WHERE outstanding_principal IS NOT NULL",
    )
    assert moved == killed_with

    again = await anyio.to_thread.run_sync(
        lambda: _run(["payments", "import", str(path), "--report", str(tmp_path / "r.json")], env)
    )
    assert again.returncode == 0, again.stdout + again.stderr
    import json

    report = json.loads((tmp_path / "r.json").read_text())
    assert report["duplicates"] == killed_with
    # Loans whose recorded EMI is under the month's interest refuse it (make-payment's rule);
    # every other row is applied.
    assert report["applied"] + len(report["rejected"]) == rows - killed_with
    assert all("interest" in r["reason"] for r in report["rejected"])
    applied = killed_with + report["applied"]
    assert await _scalar(dsn, "SELECT count(*) FROM payments") == applied
    assert await _scalar(dsn, "SELECT count(DISTINCT loan_id) FROM payments") == applied


async def test_a_close_killed_midway_closes_nothing_and_the_rerun_closes_once(
    book_dsn: tuple[str, dict[str, str]],
) -> None:
    dsn, env = book_dsn
    env = env | {"CREDIT_TODAY": "2026-07-15"}
    # Started, not waited for: the test reads its stages and kills it.
    process = subprocess.Popen(  # noqa: ASYNC220
        [*CREDIT, "close-day", "--date", "2026-07-14"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    killed = False
    for line in process.stdout:
        # Each stage prints a line once it is over: after "claiming", the dates are claimed
        # (uncommitted) and the book is being classified.
        if line.strip().startswith(("claiming", "reading payments")):
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            killed = True
            break
    assert killed, "the close ended before it could be killed"
    assert await _scalar(dsn, "SELECT count(*) FROM closed_days") == 0
    assert await _scalar(dsn, "SELECT count(*) FROM loan_classifications") == 0
    assert await _scalar(dsn, "SELECT count(*) FROM classification_periods") == 0

    again = await anyio.to_thread.run_sync(lambda: _run(["close-day", "--date", "2026-07-14"], env))
    assert again.returncode == 0, again.stdout + again.stderr
    assert await _scalar(dsn, "SELECT count(*) FROM closed_days") == 1
    assert await _scalar(dsn, "SELECT count(*) FROM portfolio_days") == 5
    loans = await _scalar(dsn, "SELECT loans FROM closed_days")
    assert loans == await _scalar(dsn, "SELECT count(*) FROM loan_classifications")
    assert loans == await _scalar(
        dsn, "SELECT count(*) FROM classification_periods WHERE to_date IS NULL"
    )
    once_more = await anyio.to_thread.run_sync(
        lambda: _run(["close-day", "--date", "2026-07-14"], env)
    )
    assert once_more.returncode == 0
    assert "closed already" in once_more.stdout
    assert await _scalar(dsn, "SELECT count(*) FROM closed_days") == 1
