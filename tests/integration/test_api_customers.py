"""POST /api/register and GET /api/customers/{id}, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.settings import Settings
from tests.integration.book import PastLoan, count_rows, seed_loans

Client = AsyncTestClient[Litestar]


def applicant(**overrides: Any) -> dict[str, Any]:
    body = {
        "first_name": "Asha",
        "last_name": "Verma",
        "age": 34,
        "monthly_income": 12_500,
        "phone_number": 9_876_543_210,
    }
    return body | overrides


async def test_register_returns_the_contract_fields(client: Client) -> None:
    response = await client.post("/api/register", json=applicant())
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "customer_id": body["customer_id"],
        "name": "Asha Verma",
        "age": 34,
        "monthly_income": 12_500,
        "approved_limit": 500_000,  # 36 x 12,500 = 4,50,000: a tie, rounded up to 5 lakh
        "phone_number": 9_876_543_210,
    }
    assert isinstance(body["customer_id"], int)


async def test_register_with_trailing_slash_and_increasing_ids(client: Client) -> None:
    first = await client.post("/api/register/", json=applicant())
    second = await client.post("/api/register", json=applicant(phone_number=9_000_000_001))
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["customer_id"] > first.json()["customer_id"]


async def test_duplicate_phone_is_409_and_changes_nothing(
    client: Client, settings: Settings
) -> None:
    assert (await client.post("/api/register", json=applicant())).status_code == 201
    response = await client.post("/api/register", json=applicant(first_name="Other"))
    assert response.status_code == 409
    assert response.json()["status_code"] == 409
    assert "phone number" in response.json()["detail"]
    assert "9876543210" not in response.text
    assert await count_rows(settings.database_url) == (1, 0)


async def test_invalid_fields_are_400_naming_the_field(client: Client, settings: Settings) -> None:
    cases = {
        "first_name": applicant(first_name="   "),
        "last_name": applicant(last_name=""),
        "age": applicant(age=17),
        "monthly_income": applicant(monthly_income=0),
        "phone_number": applicant(phone_number=12345),
    }
    for field, body in cases.items():
        response = await client.post("/api/register", json=body)
        assert response.status_code == 400, field
        assert field in response.text, field
    too_old = await client.post("/api/register", json=applicant(age=121))
    wrong_type = await client.post("/api/register", json=applicant(age="thirty"))
    missing = await client.post("/api/register", json={"first_name": "A"})
    assert (too_old.status_code, wrong_type.status_code, missing.status_code) == (400, 400, 400)
    assert await count_rows(settings.database_url) == (0, 0)


async def test_malformed_json_is_a_400_json_error(client: Client) -> None:
    response = await client.post(
        "/api/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["status_code"] == 400


async def test_profile_shows_debt_and_emis_of_current_loans(
    client: Client, settings: Settings, today: date
) -> None:
    customer_id = (
        await client.post("/api/register", json=applicant(monthly_income=100_000))
    ).json()["customer_id"]
    await seed_loans(
        settings.database_url,
        customer_id,
        [
            # Current: 12 months from 10 Jan 2025; 5 installments due by 15 Jun 2025.
            PastLoan(120_000, "12", 12, date(2025, 1, 10), paid_on_time=5),
            # Closed: its end date is in the past, so it counts for neither figure.
            PastLoan(50_000, "10", 6, date(2023, 1, 1), paid_on_time=6),
        ],
    )
    response = await client.get(f"/api/customers/{customer_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["approved_limit"] == 3_600_000
    assert body["monthly_income"] == 100_000
    assert body["current_emis"] == 10_661.85
    # Outstanding principal after 5 of 12 installments of the schedule.
    assert (
        body["current_debt"] == 71_735.06
    )  # 120000 x 1.01^5 - EMI x (1.01^5 - 1) / 0.01, to the paisa
    assert (body["first_name"], body["last_name"], body["age"]) == ("Asha", "Verma", 34)


async def test_unknown_customer_profile_is_404(client: Client) -> None:
    response = await client.get("/api/customers/424242")
    assert response.status_code == 404
    assert response.json()["detail"] == "Customer 424242 not found."


async def test_a_name_of_the_longest_length_in_any_script_is_stored(client: Client) -> None:
    """The limit is 100 characters, whatever their size in bytes: 100 characters outside the
    Basic Multilingual Plane (4 bytes each in UTF-8) fit, as 100 ASCII letters do."""
    name = "\U0001d586" * 100  # MATHEMATICAL BOLD FRAKTUR SMALL A
    response = await client.post("/api/register", json=applicant(last_name=name))
    assert response.status_code == 201, response.text
    assert response.json()["name"] == f"Asha {name}"
