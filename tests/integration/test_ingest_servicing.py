"""Loading the book and servicing it, on both databases: loans start as of the day they were
loaded, re-loading never deletes or changes a recorded payment, and a file row that disagrees
with the payments recorded since the load is rejected with that reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.settings import Settings
from tests.ingest_workbooks import customer, loan, small_book
from tests.integration.book import ingest

Client = AsyncTestClient[Litestar]
# 1,00,000 at 12 % for 12 months from 10 Jan 2025: five installments due by TODAY (15 Jun).
SERVICED = {
    "Loan Amount": 100_000,
    "Interest Rate": 12,
    "Monthly payment": 8_884.88,
    "EMIs paid on Time": 5,
    "Date of Approval": date(2025, 1, 10),
    "End Date": date(2026, 1, 10),
}
QUIET = {**SERVICED, "EMIs paid on Time": 4}


def book(folder: Path, serviced: dict[str, Any], quiet: dict[str, Any]) -> tuple[Path, Path]:
    return small_book(
        folder, [customer(1), customer(2)], [loan(1, 5001, **serviced), loan(2, 5002, **quiet)]
    )


async def statement(client: Client, customer_id: int, loan_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/view-statement/{customer_id}/{loan_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_reloading_keeps_payments_and_rejects_a_disagreeing_row(
    client: Client, settings: Settings, tmp_path: Path
) -> None:
    url = settings.database_url
    first = await ingest(url, *book(tmp_path / "first", SERVICED, QUIET))
    assert first.loans.inserted == 2
    loaded = await statement(client, 1, 5001)
    # As of the day it was loaded: installments 1-5 settled at the recorded EMI.
    assert loaded["repayments_left"] == 7
    assert loaded["amount_paid"] == 44_424.40
    assert loaded["next_due_date"] == "2025-07-10"
    assert loaded["overdue_installments"] == 0

    paid = await client.post("/api/make-payment/1/5001", json={"amount": 8_884.88})
    assert paid.status_code == 201, paid.text
    assert paid.json()["installment"] == 6
    after_payment = await statement(client, 1, 5001)

    # The same files again, later: nothing changes, the payment stands.
    again = await ingest(url, *book(tmp_path / "again", SERVICED, QUIET), today=date(2025, 7, 20))
    assert (again.loans.unchanged, again.loans.updated, again.rejected) == (2, 0, [])
    assert await statement(client, 1, 5001) == after_payment
    assert (await statement(client, 2, 5002))["repayments_left"] == 7  # still as first loaded

    # The lender's file now says other terms for the serviced loan, and a newer record of the
    # quiet one (no payments): the first is rejected, the second re-loaded as of that day.
    changed = await ingest(
        url,
        *book(
            tmp_path / "changed",
            {**SERVICED, "Loan Amount": 120_000, "Monthly payment": 10_661.86},
            {**QUIET, "EMIs paid on Time": 6},
        ),
        today=date(2025, 7, 20),
    )
    assert changed.loans.updated == 1
    assert len(changed.rejected) == 1
    rejected = changed.rejected[0]
    assert (rejected.sheet, rejected.row) == ("loans", 2)
    assert "payments recorded since it was loaded on 2025-06-15" in rejected.reason
    assert "loan_amount" in rejected.reason
    assert "monthly_installment" in rejected.reason
    assert await statement(client, 1, 5001) == after_payment
    view = (await client.get("/api/view-loan/5001")).json()
    assert view["loan_amount"] == 100_000
    quiet = await statement(client, 2, 5002)
    assert quiet["repayments_left"] == 6  # installment 6 (due 10 Jul) settled by the files
    assert quiet["payments"] == []
