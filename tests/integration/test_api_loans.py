"""Eligibility, booking, viewing and schedules through the HTTP API, on both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.settings import Settings
from tests.integration.book import PastLoan, count_rows, seed_loans
from tests.integration.test_api_customers import applicant

Client = AsyncTestClient[Litestar]


async def register(client: Client, income: int = 100_000, phone: int = 9_876_543_210) -> int:
    response = await client.post(
        "/api/register", json=applicant(monthly_income=income, phone_number=phone)
    )
    assert response.status_code == 201
    customer_id: int = response.json()["customer_id"]
    return customer_id


def application(customer_id: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "loan_amount": 100_000,
        "interest_rate": 12,
        "tenure": 12,
    } | overrides


# A history that scores in the 16 % slab (11-30) for an income of 30,000 (limit 11 lakh):
# twelve loans, three of them this year, about one installment in six paid on time, and
# 2.4x the limit lent in all. The current loans are small, so a new loan is still affordable.
LATE_PAYER_INCOME = 30_000
LATE_PAYER = [
    *(PastLoan(250_000, "13", 12, date(2015 + year, 3, 5), paid_on_time=2) for year in range(9)),
    PastLoan(50_000, "15", 36, date(2025, 1, 10), paid_on_time=1),
    PastLoan(50_000, "15", 36, date(2025, 2, 10), paid_on_time=1),
    PastLoan(50_000, "15", 36, date(2025, 3, 10), paid_on_time=1),
]


async def test_check_eligibility_approves_a_new_customer_at_the_requested_rate(
    client: Client, settings: Settings
) -> None:
    customer_id = await register(client)
    response = await client.post("/api/check-eligibility", json=application(customer_id))
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "customer_id": customer_id,
        "approval": True,
        "interest_rate": 12,
        "corrected_interest_rate": 12,
        "tenure": 12,
        "monthly_installment": 8884.88,
        "credit_score": 80,
        "message": "Approved.",
        "reasons": [],
    }
    assert await count_rows(settings.database_url) == (1, 0)  # it writes nothing


async def test_check_eligibility_corrects_the_rate_to_the_slab(
    client: Client, settings: Settings
) -> None:
    customer_id = await register(client, income=LATE_PAYER_INCOME)
    await seed_loans(settings.database_url, customer_id, LATE_PAYER)
    score = (await client.get(f"/api/customers/{customer_id}/credit-score")).json()
    assert 10 < score["credit_score"] <= 30, score
    response = await client.post(
        "/api/check-eligibility/", json=application(customer_id, interest_rate=8)
    )
    body = response.json()
    assert response.status_code == 200
    assert body["approval"] is True
    assert (body["interest_rate"], body["corrected_interest_rate"]) == (8, 16)
    assert body["monthly_installment"] == 9073.09  # the EMI at 16 %
    assert body["credit_score"] == score["credit_score"]


async def test_check_eligibility_rejects_unaffordable_loans(client: Client) -> None:
    customer_id = await register(client, income=20_000)  # EMIs up to 10,000 a month
    response = await client.post(
        "/api/check-eligibility", json=application(customer_id, loan_amount=200_000)
    )
    body = response.json()
    assert body["approval"] is False
    assert "50%" in body["message"]


async def test_unknown_customer_is_404_everywhere(client: Client) -> None:
    for path in ("/api/check-eligibility", "/api/create-loan"):
        response = await client.post(path, json=application(999_999))
        assert response.status_code == 404, path
        assert response.json()["detail"] == "Customer 999999 not found."
    for path in ("/api/view-loans/999999", "/api/customers/999999/credit-score"):
        assert (await client.get(path)).status_code == 404, path


async def test_out_of_range_requests_are_400(client: Client) -> None:
    customer_id = await register(client)
    for field, value in [
        ("loan_amount", 0),
        ("loan_amount", 10_000_000_001),
        ("interest_rate", -1),
        ("interest_rate", 100.5),
        ("tenure", 0),
        ("tenure", 601),
        ("tenure", 1.5),
        ("customer_id", "one"),
    ]:
        body = application(customer_id) | {field: value}
        response = await client.post("/api/check-eligibility", json=body)
        assert response.status_code == 400, (field, value)
        assert field in response.text


async def test_create_loan_books_an_approved_loan(
    client: Client, settings: Settings, today: date
) -> None:
    customer_id = await register(client)
    response = await client.post("/api/create-loan", json=application(customer_id))
    assert response.status_code == 201
    body = response.json()
    assert body["loan_approved"] is True
    assert body["customer_id"] == customer_id
    assert body["monthly_installment"] == 8884.88
    assert isinstance(body["loan_id"], int)
    assert "2026-06-15" in body["message"]  # ends 12 months after today (2025-06-15)
    assert body["reasons"] == []
    assert isinstance(body["decision_id"], int)

    loan = (await client.get(f"/api/view-loan/{body['loan_id']}")).json()
    assert loan == {
        "loan_id": body["loan_id"],
        "customer": {
            "id": customer_id,
            "first_name": "Asha",
            "last_name": "Verma",
            "phone_number": 9_876_543_210,
            "age": 34,
        },
        "loan_amount": 100_000,
        "interest_rate": 12,
        "monthly_installment": 8884.88,
        "tenure": 12,
        "repayments_left": 12,
        "outstanding_principal": 100_000,
        "status": "current",
        "days_past_due": 0,
        "classification": None,  # no close of day yet
        "classified_on": None,
        "classified_days_past_due": None,
    }
    current = (await client.get(f"/api/view-loans/{customer_id}")).json()
    assert current == [
        {
            "loan_id": body["loan_id"],
            "loan_amount": 100_000,
            "interest_rate": 12,
            "monthly_installment": 8884.88,
            "repayments_left": 12,
        }
    ]


async def test_create_loan_never_books_at_a_rate_not_asked_for(
    client: Client, settings: Settings
) -> None:
    customer_id = await register(client, income=LATE_PAYER_INCOME)
    await seed_loans(settings.database_url, customer_id, LATE_PAYER)
    before = await count_rows(settings.database_url)
    response = await client.post(
        "/api/create-loan/", json=application(customer_id, interest_rate=8)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["loan_id"] is None
    assert body["loan_approved"] is False
    assert "Apply again at 16% or more." in body["message"]  # names the rate it would accept
    assert body["monthly_installment"] == 8698.84  # the EMI at the requested 8 %
    assert await count_rows(settings.database_url) == before
    # Asking at the slab's rate gets the loan.
    accepted = await client.post(
        "/api/create-loan", json=application(customer_id, interest_rate=16)
    )
    assert accepted.status_code == 201
    assert accepted.json()["monthly_installment"] == 9073.09


async def test_create_loan_respects_the_limit_including_the_new_amount(client: Client) -> None:
    customer_id = await register(client, income=50_000)  # limit 18,00,000
    # Interest-free over 50 years keeps the EMIs small, so only the limit can refuse.
    long_cheap = {"interest_rate": 0, "tenure": 600}
    first = await client.post(
        "/api/create-loan", json=application(customer_id, loan_amount=1_500_000, **long_cheap)
    )
    assert first.status_code == 201
    second = await client.post(
        "/api/create-loan", json=application(customer_id, loan_amount=300_001, **long_cheap)
    )
    assert second.status_code == 200
    assert second.json()["loan_approved"] is False
    assert "approved limit" in second.json()["message"]


async def test_view_loans_lists_only_current_loans(client: Client, settings: Settings) -> None:
    customer_id = await register(client)
    assert (await client.get(f"/api/view-loans/{customer_id}/")).json() == []
    ended, running = await seed_loans(
        settings.database_url,
        customer_id,
        [
            PastLoan(50_000, "10", 6, date(2023, 1, 1), paid_on_time=6),
            PastLoan(120_000, "12", 12, date(2025, 1, 10), paid_on_time=5),
        ],
    )
    loans = (await client.get(f"/api/view-loans/{customer_id}")).json()
    assert [loan["loan_id"] for loan in loans] == [running]
    assert loans[0]["repayments_left"] == 7  # 5 of 12 fell due by 15 Jun 2025
    assert (await client.get(f"/api/view-loan/{ended}")).status_code == 200


async def test_view_loan_errors(client: Client) -> None:
    assert (await client.get("/api/view-loan/424242")).status_code == 404
    not_an_id = await client.get("/api/view-loan/abc")
    assert 400 <= not_an_id.status_code < 500
    assert not_an_id.headers["content-type"].startswith("application/json")
    too_big = await client.get(f"/api/view-loan/{2**63}")
    assert too_big.status_code == 400


async def test_schedule_shows_every_installment_and_the_recorded_emi(
    client: Client, settings: Settings
) -> None:
    customer_id = await register(client)
    (loan_id,) = await seed_loans(
        settings.database_url,
        customer_id,
        [PastLoan(900_000, "8.2", 129, date(2017, 3, 9), paid_on_time=114, recorded_emi=15_344)],
    )
    body = (await client.get(f"/api/loans/{loan_id}/schedule")).json()
    installments = body["installments"]
    # The loan's EMI is the files' (as every view of it shows); the installments follow the
    # formula (10,520.10), and the recorded figure says where they differ.
    assert body["monthly_installment"] == 15_344
    assert body["recorded_monthly_installment"] == 15_344
    assert len(installments) == 129
    assert installments[0] == {
        "number": 1,
        "due_date": "2017-04-09",
        "emi": 10_520.10,
        "interest": 6_150.00,
        "principal": 4_370.10,
        "balance": 895_629.90,
        "settled_by": "loading",  # due before the day it was loaded (today)
    }
    # Loaded on 2025-06-15: installments 1..99 (the last due 2025-06-09) are settled.
    assert [i.get("settled_by") for i in installments[98:100]] == ["loading", None]
    assert installments[-1]["due_date"] == "2027-12-09"
    assert installments[-1]["balance"] == 0
    assert round(sum(i["principal"] for i in installments), 2) == 900_000

    booked = (await client.post("/api/create-loan", json=application(customer_id, tenure=6))).json()
    own = (await client.get(f"/api/loans/{booked['loan_id']}/schedule")).json()
    assert "recorded_monthly_installment" not in own
    assert (await client.get("/api/loans/424242/schedule")).status_code == 404


async def test_credit_score_explains_its_parts(
    client: Client, settings: Settings, today: date
) -> None:
    customer_id = await register(client)
    await seed_loans(
        settings.database_url,
        customer_id,
        [
            PastLoan(120_000, "12", 12, date(2025, 1, 10), paid_on_time=4),  # 5 due, 4 on time
            PastLoan(50_000, "10", 6, date(2023, 1, 1), paid_on_time=6),
        ],
    )
    body = (await client.get(f"/api/customers/{customer_id}/credit-score")).json()
    components = {c["name"]: c for c in body["components"]}
    assert components["paid_on_time"]["value"] == round(10 / 11, 4)
    assert components["paid_on_time"]["points"] == 36.36
    assert components["loans_taken"] == {
        "name": "loans_taken",
        "value": 2,
        "points": 20,
        "max_points": 20,
    }
    assert components["current_year_activity"]["value"] == 1
    assert components["current_year_activity"]["points"] == 15
    assert body["credit_score"] == round(sum(c["points"] for c in body["components"]))
    assert body["as_of"] == today.isoformat()
    assert body["slab"] == "above 50"
    assert body["over_limit"] is False
