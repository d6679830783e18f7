"""The bank's collections file through the API, on both databases: a row order that needs
sorting by date, duplicates, conflicts, every reason make-payment refuses for, and a second
run of the same file that applies nothing twice. Loans of docs/servicing-example.md
(1,00,000 at 12 % for 12 months from 2026-01-15, EMI 8,884.88); "today" is 2026-06-01."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import polars as pl
import pytest

from credit.settings import Settings
from tests.integration.book import seed_loans
from tests.integration.lenders_day import finished_job
from tests.integration.test_api_loans import register
from tests.integration.test_api_servicing import EXAMPLE_LOAN, Client, pay

HEADER = "Reference,Customer ID,Loan ID,Amount,Paid On"


@pytest.fixture
def today() -> date:
    return date(2026, 6, 1)


async def upload(client: Client, content: bytes, name: str = "collections.csv") -> dict[str, Any]:
    response = await client.post("/api/payments/import", files={"file": (name, content)})
    assert response.status_code == 202, response.text
    return await finished_job(client, response.json()["job_id"])


async def test_a_collections_file_applies_each_row_once(client: Client, settings: Settings) -> None:
    customer = await register(client, income=200_000)
    other = await register(client, income=200_000, phone=9_876_500_000)
    a, b, closed = await seed_loans(settings.database_url, customer, [EXAMPLE_LOAN] * 3)
    (theirs,) = await seed_loans(settings.database_url, other, [EXAMPLE_LOAN])
    assert (await pay(client, customer, b, amount=8884.88, paid_on="2026-03-01")).status_code == 201
    payoff = await pay(client, customer, closed, amount=101000, paid_on="2026-02-01")
    assert payoff.status_code == 201, payoff.text
    rows = [
        f"R1,{customer},{a},8884.88,2026-03-10",  # 2: applies second (its date is later)
        f"R2,{customer},{a},8884.88,2026-02-10",  # 3: applies first
        f"R3,{customer},999999,100,2026-02-10",  # 4: no such loan
        f"R4,{customer},{a},1,2026-04-10",  # 5: under the interest
        f"R5,{customer},{a},8884.88,2026-07-01",  # 6: after today
        f"R6,{customer},{b},8884.88,2026-02-20",  # 7: before the loan's last payment
        f"R7,{customer},{b},500000,2026-04-01",  # 8: over the payoff
        f"R8,{customer},{b},abc,2026-04-01",  # 9: not a number
        f"R2,{customer},{a},8884.88,2026-02-10",  # 10: a duplicate
        f"R1,{customer},{a},9000,2026-03-10",  # 11: a conflict
        f"R9,{customer},{theirs},8884.88,2026-02-10",  # 12: another customer's loan
        f"R10,{customer},{closed},8884.88,2026-04-10",  # 13: a closed loan
        f"R11,{customer},{a},8884.88,2026-01-10",  # 14: before the loan's start
    ]
    content = "\n".join([HEADER, *rows]).encode()
    job = await upload(client, content)
    assert job["status"] == "complete", job
    report = job["report"]
    assert report["rows"] == 13
    assert report["applied"] == 2
    assert report["duplicates"] == 1
    assert report["amount_applied"] == 17769.76
    reasons = {r["row"]: (r["reference"], r["reason"]) for r in report["rejected"]}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 11, 12, 13, 14]
    assert reasons[4] == ("R3", f"Customer {customer} has no loan 999999.")
    assert "interest of 841.51" in reasons[5][1]  # after two installments
    assert "after today" in reasons[6][1]
    assert "before the loan's last payment" in reasons[7][1]
    assert "above the payoff" in reasons[8][1]
    assert reasons[9][0] == "R8"
    assert "Amount" in reasons[9][1]
    assert "conflict" in reasons[11][1]
    assert reasons[12] == ("R9", f"Customer {customer} has no loan {theirs}.")
    assert "paid off" in reasons[13][1]
    assert "before the loan's start" in reasons[14][1]

    statement = (await client.get(f"/api/view-statement/{customer}/{a}")).json()
    assert [(p["reference"], p["paid_on"]) for p in statement["payments"]] == [
        ("R2", "2026-02-10"),
        ("R1", "2026-03-10"),
    ]
    assert statement["repayments_left"] == 10

    again = await upload(client, content)
    assert again["report"]["applied"] == 0
    assert again["report"]["duplicates"] == 3  # R1 (row 2) and R2 (rows 3 and 10)
    statement = (await client.get(f"/api/view-statement/{customer}/{a}")).json()
    assert len(statement["payments"]) == 2


async def test_an_xlsx_file_and_files_that_cannot_be_applied(
    client: Client, settings: Settings
) -> None:
    customer = await register(client, income=200_000)
    (loan,) = await seed_loans(settings.database_url, customer, [EXAMPLE_LOAN])
    book = io.BytesIO()
    pl.DataFrame(
        {
            "Reference": ["X1"],
            "Customer ID": [customer],
            "Loan ID": [loan],
            "Amount": [8884.88],
            "Paid On": [date(2026, 2, 10)],
        }
    ).write_excel(book)
    job = await upload(client, book.getvalue(), "collections.xlsx")
    assert job["report"]["applied"] == 1, job

    missing = await upload(client, b"Reference,Customer ID,Loan ID,Amount\nX2,1,1,5\n")
    assert missing["status"] == "failed"
    assert "Paid On" in missing["error"]
    empty = await upload(client, (HEADER + "\n").encode())
    assert empty["status"] == "failed"
    assert "no data rows" in empty["error"]
    not_a_file = await upload(client, b"\xff\xfe\x00garbage")
    assert not_a_file["status"] == "failed"
