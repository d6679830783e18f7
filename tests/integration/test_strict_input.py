"""Input the contract does not allow is refused with a 400 (or 415) naming the field, on both
databases, and changes nothing: deep nesting, bytes that are not UTF-8, U+0000, numbers sent
as strings, ids that are not plain digits, bodies that are not JSON, names that look blank,
rates with more decimals than are stored, and literals JSON numbers cannot be."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.settings import Settings
from tests.integration.book import count_rows

Client = AsyncTestClient[Litestar]
JSON = {"Content-Type": "application/json"}


def applicant(**overrides: Any) -> dict[str, Any]:
    body = {
        "first_name": "Asha",
        "last_name": "Verma",
        "age": 34,
        "monthly_income": 50_000,
        "phone_number": 9_876_543_210,
    }
    return body | overrides


def application(customer_id: int, **overrides: Any) -> dict[str, Any]:
    body = {"customer_id": customer_id, "loan_amount": 100_000, "interest_rate": 14, "tenure": 12}
    return body | overrides


async def register(client: Client) -> int:
    response = await client.post("/api/register", json=applicant())
    assert response.status_code == 201, response.text
    return int(response.json()["customer_id"])


def refused_field(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status_code"] == status
    (error,) = body["extra"]
    return str(error["key"])


async def test_deep_nesting_is_400_naming_the_field(client: Client, settings: Settings) -> None:
    deep = "[" * 1000 + "]" * 1000
    named = await client.post(
        "/api/check-eligibility", content=f'{{"customer_id":{deep}}}', headers=JSON
    )
    assert refused_field(named) == "customer_id"
    unknown = await client.post(
        "/api/register",
        content=f'{{"x":{deep},"first_name":"A","last_name":"B","age":30,'
        '"monthly_income":1,"phone_number":9000000000}',
        headers=JSON,
    )
    assert refused_field(unknown) == "body"
    assert "nested too deeply" in unknown.text
    assert await count_rows(settings.database_url) == (0, 0)


@pytest.mark.parametrize(
    ("content", "content_type", "key"),
    [
        (b'{"first_name":"\xff"}', "application/json", "body"),
        ('{"first_name":"Zoë"}'.encode("latin-1"), "application/json; charset=latin-1", None),
    ],
)
async def test_a_body_that_is_not_utf8_is_400(
    client: Client, settings: Settings, content: bytes, content_type: str, key: str | None
) -> None:
    response = await client.post(
        "/api/register", content=content, headers={"Content-Type": content_type}
    )
    assert refused_field(response) in ({key} if key else {"Content-Type"})
    assert await count_rows(settings.database_url) == (0, 0)


@pytest.mark.parametrize("field", ["first_name", "last_name"])
async def test_nul_in_a_string_is_400_naming_it(
    client: Client, settings: Settings, field: str
) -> None:
    response = await client.post("/api/register", json=applicant(**{field: "As\x00ha"}))
    assert refused_field(response) == field
    assert await count_rows(settings.database_url) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [("age", "30"), ("monthly_income", "50000"), ("phone_number", "9876543210")],
)
async def test_numbers_sent_as_strings_are_refused_on_register(
    client: Client, settings: Settings, field: str, value: str
) -> None:
    response = await client.post("/api/register", json=applicant(**{field: value}))
    assert refused_field(response) == field
    assert await count_rows(settings.database_url) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("loan_amount", "1e5"),
        ("tenure", "12.0"),
        ("tenure", 12.5),
        ("interest_rate", "14"),
        ("customer_id", "1"),
        ("customer_id", True),
    ],
)
async def test_numbers_sent_as_strings_never_book_a_loan(
    client: Client, settings: Settings, field: str, value: Any
) -> None:
    customer_id = await register(client)
    body = application(customer_id) | {field: value}
    for path in ("/api/create-loan", "/api/check-eligibility"):
        assert refused_field(await client.post(path, json=body)) == field
    assert await count_rows(settings.database_url) == (1, 0)


@pytest.mark.parametrize("raw", ["01", "+1", "1%20", "%EF%BC%91", "%D9%A1", "1_0", "0x1", "-1"])
async def test_path_ids_must_be_plain_ascii_digits(client: Client, raw: str) -> None:
    customer_id = await register(client)
    booked = await client.post("/api/create-loan", json=application(customer_id))
    assert booked.status_code == 201, booked.text
    assert booked.json()["loan_id"] == 1  # the case the issue found: these all answered loan 1
    assert (await client.get("/api/view-loan/1")).status_code == 200
    for path in (
        f"/api/view-loan/{raw}",
        f"/api/loans/{raw}/schedule",
        f"/api/view-loans/{raw}",
        f"/api/customers/{raw}",
    ):
        response = await client.get(path)
        assert response.status_code in (400, 404), path
        if response.status_code == 400:
            assert response.json()["extra"][0]["key"] in ("loan_id", "customer_id"), path
        if raw not in ("0x1", "1_0", "-1"):  # those never matched the int route
            assert response.status_code == 400, path


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/xml"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": ""},
    ],
)
async def test_a_json_body_under_another_content_type_is_415(
    client: Client, settings: Settings, headers: dict[str, str]
) -> None:
    import json

    body = json.dumps(applicant()).encode()
    response = await client.post("/api/register", content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["status_code"] == 415
    assert await count_rows(settings.database_url) == (0, 0)


async def test_no_content_type_is_415(client: Client, settings: Settings) -> None:
    import json

    response = await client.post("/api/register", content=json.dumps(applicant()).encode())
    # httpx sends no Content-Type for raw content.
    assert "content-type" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 415, response.text
    form = await client.post("/api/register", data={k: str(v) for k, v in applicant().items()})
    assert form.status_code == 415
    assert await count_rows(settings.database_url) == (0, 0)


@pytest.mark.parametrize(
    "name", ["\u200b", "\u200b\u200c\u2060", "\x01\x02", "Asha\nVerma", "Asha\n", "\t", "\ufeff"]
)
async def test_names_that_look_blank_are_400(client: Client, settings: Settings, name: str) -> None:
    response = await client.post("/api/register", json=applicant(first_name=name))
    assert refused_field(response) == "first_name"
    assert "visible" in response.text
    assert await count_rows(settings.database_url) == (0, 0)


async def test_names_with_any_script_and_inner_spaces_are_accepted(client: Client) -> None:
    response = await client.post(
        "/api/register", json=applicant(first_name=" Zoë Anne ", last_name="日本")
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Zoë Anne 日本"


async def test_a_rate_with_more_decimals_than_stored_is_400(
    client: Client, settings: Settings
) -> None:
    customer_id = await register(client)
    for path in ("/api/check-eligibility", "/api/create-loan"):
        response = await client.post(path, json=application(customer_id, interest_rate=12.34567))
        assert refused_field(response) == "interest_rate"
        assert "4 decimal places" in response.text
    assert await count_rows(settings.database_url) == (1, 0)
    exact = await client.post(
        "/api/check-eligibility", json=application(customer_id, interest_rate=12.3457)
    )
    assert exact.status_code == 200, exact.text
    assert exact.json()["interest_rate"] == 12.3457
    assert exact.json()["corrected_interest_rate"] == 12.3457


async def test_minus_zero_rate_comes_back_as_zero(client: Client) -> None:
    customer_id = await register(client)
    response = await client.post(
        "/api/check-eligibility",
        content=(
            f'{{"customer_id":{customer_id},"loan_amount":1000,"interest_rate":-0.0,"tenure":12}}'
        ),
        headers=JSON,
    )
    assert response.status_code == 200, response.text
    assert '"interest_rate":0.0' in response.text
    assert "-0.0" not in response.text


async def test_whole_numbers_in_any_spelling_are_integers(client: Client) -> None:
    """JSON Schema's `integer` (the OpenAPI document's) includes 12.0 and 1.2e1."""
    customer_id = await register(client)
    content = (
        f'{{"customer_id":{customer_id}.0,"loan_amount":1e5,"interest_rate":14,"tenure":1.2e1}}'
    )
    response = await client.post("/api/check-eligibility", content=content, headers=JSON)
    assert response.status_code == 200, response.text
    assert response.json()["tenure"] == 12


async def test_a_missing_field_is_named(client: Client) -> None:
    body = applicant()
    del body["age"]
    response = await client.post("/api/register", json=body)
    assert refused_field(response) == "age"
    assert "data" not in response.text


async def test_an_empty_body_is_named_as_the_body(client: Client) -> None:
    response = await client.post("/api/register", content=b"", headers=JSON)
    assert refused_field(response) == "body"
    assert "'data'" not in response.text
    assert "empty" in response.json()["extra"][0]["message"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_literals_json_numbers_cannot_be_are_named(client: Client, literal: str) -> None:
    customer_id = await register(client)
    content = (
        f'{{"customer_id":{customer_id},"loan_amount":{literal},"interest_rate":10,"tenure":12}}'
    )
    response = await client.post("/api/check-eligibility", content=content, headers=JSON)
    assert refused_field(response) == "loan_amount"
    assert "byte" not in response.json()["extra"][0]["message"]


async def test_head_answers_on_get_routes(client: Client) -> None:
    customer_id = await register(client)
    get = await client.get(f"/api/customers/{customer_id}")
    head = await client.head(f"/api/customers/{customer_id}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert (await client.head("/api/customers/424242")).status_code == 404
