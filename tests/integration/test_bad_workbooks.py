"""The bad-workbooks corpus (tests/data/bad/, made by tests/make_bad_workbooks.py) through
`POST /api/ingest`, on SQLite and PostgreSQL: each case ends in a clear error (and nothing
written) or a report that names every rejected row, and the book holds only sane rows."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from credit.settings import Settings
from tests.integration.test_ingest_http import upload, wait_for
from tests.make_bad_workbooks import BAD, CASES, CUSTOMERS, LOANS, generate

Client = AsyncTestClient[Litestar]

# Refused at the door (400, nothing stored or queued), naming the part.
REFUSED = {"csv_renamed": ("customers", "The customers file is not an Excel workbook")}
FAILS = {
    "zip_bomb": "refused before parsing",
    "empty_workbook": "has missing columns: Customer ID",
    "header_only": "The loans file 'loans.xlsx' has no data rows",
    "wider_than_format": "has unknown columns: Notes, Credit Card",
}
# Uploads are stored as customers.xlsx / loans.xlsx, so errors name those files.
# (sheet, Excel row) of every row the report must reject; the rest is loaded.
REJECTS = {
    "formulas_and_merged_cells": {("loans", 2), ("loans", 3)},
    "text_in_numeric_columns": {("customers", 3), ("customers", 4), ("customers", 5)}
    | {("loans", 3), ("loans", 4)},  # loans of the rejected customers
    "negative_and_absurd_values": {("loans", r) for r in range(3, 9)},
    "dates_as_text": {("loans", 3), ("loans", 4)},
    "duplicate_rows": {("customers", 5), ("loans", 5), ("loans", 6)},
}
SANITY = """
SELECT
  (SELECT count(*) FROM customers WHERE age < 18 OR age > 120 OR monthly_income <= 0
     OR phone_number < 1000000000 OR phone_number > 9999999999),
  (SELECT count(*) FROM loans WHERE loan_amount <= 0 OR tenure < 1 OR tenure > 600
     OR interest_rate < 0 OR interest_rate > 1000000 OR emis_paid_on_time < 0
     OR emis_paid_on_time > tenure OR end_date <= start_date)
"""


def test_the_corpus_covers_every_case_and_the_generator_makes_it(tmp_path: Path) -> None:
    assert set(REFUSED) | set(FAILS) | set(REJECTS) == set(CASES)
    for name in CASES:
        assert (BAD / name / CUSTOMERS).is_file(), name
        assert (BAD / name / LOANS).is_file(), name
    made = generate(tmp_path)
    assert sorted(p.name for p in made) == sorted(CASES)
    for folder in made:
        assert sorted(p.name for p in folder.iterdir()) == [CUSTOMERS, LOANS]
    bomb = BAD / "zip_bomb" / LOANS
    with zipfile.ZipFile(bomb) as archive:
        inflated = sum(info.file_size for info in archive.infolist())
    assert bomb.stat().st_size < 1024**2 < 100 * 1024**2 < inflated


async def _rows(url: str) -> tuple[int, int, int, int]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        customers = (await conn.execute(text("SELECT count(*) FROM customers"))).scalar_one()
        loans = (await conn.execute(text("SELECT count(*) FROM loans"))).scalar_one()
        bad_customers, bad_loans = (await conn.execute(text(SANITY))).one()
    await engine.dispose()
    return customers, loans, bad_customers, bad_loans


@pytest.mark.parametrize("case", sorted(CASES))
async def test_bad_workbook_gives_a_clear_outcome_and_writes_nothing_wrong(
    case: str, client: Client, settings: Settings
) -> None:
    folder = BAD / case
    accepted = await client.post("/api/ingest", files=upload(folder / CUSTOMERS, folder / LOANS))
    if case in REFUSED:
        field, reason = REFUSED[case]
        assert accepted.status_code == 400, accepted.text
        assert reason in accepted.json()["detail"]
        assert accepted.json()["extra"][0]["key"] == field
        assert (await _rows(settings.database_url))[:2] == (0, 0)
        return
    assert accepted.status_code == 202
    done = await wait_for(client, accepted.json()["job_id"])
    customers, loans, bad_customers, bad_loans = await _rows(settings.database_url)
    assert (bad_customers, bad_loans) == (0, 0)
    if case in FAILS:
        assert done["status"] == "failed", done
        assert FAILS[case] in done["error"]
        assert "Traceback" not in done["error"]
        assert (customers, loans) == (0, 0)
        return
    assert done["status"] == "complete", done
    report = done["report"]
    rejected = {(row["sheet"], row["row"]) for row in report["rejected"]}
    assert rejected == REJECTS[case]
    assert all(row["reason"] for row in report["rejected"])
    assert customers == report["customers"]["inserted"]
    assert loans == report["loans"]["inserted"]
