"""Customers found, retried and changed (issue 23): `GET /api/customers` with its filters and
keyset pages, `Idempotency-Key` on register, a 409 naming the phone number's holder, and
`PATCH /api/customers/{id}`; on SQLite and PostgreSQL. Statements per request are counted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from credit.settings import Settings
from tests.integration.book import PastLoan, count_rows, seed_loans

Client = AsyncTestClient[Litestar]
PHONE = 9_100_000_000


def applicant(n: int, **overrides: Any) -> dict[str, Any]:
    body = {
        "first_name": f"Asha{n}",
        "last_name": "Verma",
        "age": 34,
        "monthly_income": 50_000,
        "phone_number": PHONE + n,
    }
    return body | overrides


async def register(client: Client, body: dict[str, Any]) -> int:
    response = await client.post("/api/register", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["customer_id"])


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every statement any engine sends while the block runs."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", count)


async def test_pages_in_id_order_with_next(client: Client) -> None:
    ids = [await register(client, applicant(n)) for n in range(5)]
    first = (await client.get("/api/customers", params={"limit": 2})).json()
    assert [item["customer_id"] for item in first["items"]] == ids[:2]
    assert first["next"] == ids[1]
    second = (await client.get("/api/customers", params={"limit": 2, "after": ids[1]})).json()
    assert [item["customer_id"] for item in second["items"]] == ids[2:4]
    last = (await client.get("/api/customers/", params={"limit": 2, "after": ids[3]})).json()
    assert ([item["customer_id"] for item in last["items"]], last["next"]) == ([ids[4]], None)
    everyone = (await client.get("/api/customers")).json()
    assert (len(everyone["items"]), everyone["next"]) == (5, None)
    assert everyone["items"][0] == {
        "customer_id": ids[0],
        "first_name": "Asha0",
        "last_name": "Verma",
        "age": 34,
        "phone_number": PHONE,
        "monthly_income": 50_000,
        "approved_limit": 1_800_000,
        "current_debt": 0,
        "current_emis": 0,
        "classification": None,  # no day has been closed yet
    }


async def test_filters_by_phone_and_name_prefix(client: Client) -> None:
    asha = await register(client, applicant(1, first_name="Asha", last_name="Sharma"))
    shanti = await register(client, applicant(2, first_name="Shanti", last_name="Rao"))
    ravi = await register(client, applicant(3, first_name="Ravi", last_name="Kumar"))
    await register(client, applicant(4, first_name="Sh_x", last_name="Sh%y"))

    async def found(**params: Any) -> list[int]:
        response = await client.get("/api/customers", params=params)
        assert response.status_code == 200, response.text
        return [item["customer_id"] for item in response.json()["items"]]

    assert await found(phone_number=PHONE + 2) == [shanti]
    assert await found(phone_number=PHONE + 99) == []
    assert await found(name="sha") == [asha, shanti]  # Sharma (last), Shanti (first)
    assert await found(name="SHARMA") == [asha]
    assert await found(name="r") == [shanti, ravi]  # Rao (last), Ravi (first)
    assert await found(name="Sh_") == [await_last(await found(name="sh_x"))]
    assert await found(name="s_") == []  # `_` and `%` are letters here, not wildcards
    assert await found(name="s%") == []
    assert await found(name="ravi kumar") == []  # a prefix of one name, not of both
    assert await found(name="k", phone_number=PHONE + 3) == [ravi]
    assert await found(name="k", phone_number=PHONE + 1) == []
    assert await found(name="zz") == []


def await_last(ids: list[int]) -> int:
    assert len(ids) == 1
    return ids[0]


async def test_bad_filters_are_400_naming_the_parameter(client: Client) -> None:
    cases = {
        "limit": {"limit": 0},
        "limit ": {"limit": 101},
        "name": {"name": ""},
        "name ": {"name": "a" * 101},
        "name  ": {"name": "a\x00"},
        "phone_number": {"phone_number": 12345},
        "after": {"after": 0},
        "after ": {"after": "null"},  # Litestar alone would read it as no `after` at all
        "phone_number ": {"phone_number": "null"},
        "nmae": {"nmae": "sha"},  # a misspelt filter is not "everyone"
    }
    for field, params in cases.items():
        response = await client.get("/api/customers", params=params)
        assert response.status_code == 400, (field, response.text)
        assert field.strip() in response.text


async def test_a_page_shows_the_profiles_figures(client: Client, settings: Settings) -> None:
    ids = [await register(client, applicant(n)) for n in range(3)]
    await seed_loans(
        settings.database_url,
        ids[1],
        [
            PastLoan(100_000, "10.0", 12, date(2025, 1, 10)),
            PastLoan(50_000, "0", 10, date(2025, 6, 3)),
        ],
    )
    page = (await client.get("/api/customers")).json()["items"]
    for item in page:
        profile = (await client.get(f"/api/customers/{item['customer_id']}")).json()
        assert item == profile
    assert page[1]["current_debt"] > 0


async def test_statements_per_page_are_constant(client: Client, settings: Settings) -> None:
    ids = [await register(client, applicant(n)) for n in range(12)]
    for customer_id in ids:
        await seed_loans(
            settings.database_url, customer_id, [PastLoan(100_000, "10.0", 24, date(2025, 9, 1))]
        )
    counts = {}
    for limit in (1, 5, 12):
        with statements() as sent:
            response = await client.get("/api/customers", params={"limit": limit, "name": "ash"})
        assert len(response.json()["items"]) == limit
        counts[limit] = len(sent)
    assert set(counts.values()) == {2}, counts  # the customers, then all their current loans
    with statements() as sent:
        response = await client.patch(f"/api/customers/{ids[0]}", json={"age": 40})
    assert response.status_code == 200
    assert len(sent) == 2, sent  # the change, then the current loans


async def test_register_retried_with_a_key_registers_once(
    client: Client, settings: Settings
) -> None:
    headers = {"Idempotency-Key": "register-asha-1"}
    first = await client.post("/api/register", json=applicant(1), headers=headers)
    again = await client.post("/api/register/", json=applicant(1), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert await count_rows(settings.database_url) == (1, 0)
    other = await client.post("/api/register", json=applicant(2), headers=headers)
    assert other.status_code == 422
    assert "Idempotency-Key" in other.text
    assert await count_rows(settings.database_url) == (1, 0)


async def test_a_taken_phone_number_names_its_holder(client: Client, settings: Settings) -> None:
    holder = await register(client, applicant(1))
    for headers in ({}, {"Idempotency-Key": "another-asha"}):
        response = await client.post(
            "/api/register", json=applicant(1, first_name="Other"), headers=headers
        )
        assert response.status_code == 409
        assert response.json()["extra"] == {"customer_id": holder}
    assert await count_rows(settings.database_url) == (1, 0)


async def test_patch_changes_the_fields_given(client: Client, settings: Settings) -> None:
    customer = await register(client, applicant(1))
    response = await client.patch(
        f"/api/customers/{customer}",
        json={"monthly_income": 12_500, "first_name": "  Asha  ", "age": 35},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["first_name"], body["last_name"], body["age"]) == ("Asha", "Verma", 35)
    # 36 x 12,500 = 4,50,000: a tie, rounded up to 5 lakh.
    assert (body["monthly_income"], body["approved_limit"]) == (12_500, 500_000)
    assert (await client.get(f"/api/customers/{customer}")).json() == body
    unchanged = await client.patch(f"/api/customers/{customer}", json={})
    assert unchanged.json() == body


async def test_patch_of_an_ingested_customer_recomputes_the_limit(
    client: Client, settings: Settings
) -> None:
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from credit.modules.customers.models import Customer

    engine = create_async_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Customer.__table__).values(
                id=7,
                source_customer_id=7,
                first_name="Loaded",
                last_name="Customer",
                age=50,
                phone_number=9_200_000_007,
                monthly_income=80_000,
                approved_limit=2_900_000,  # as the file said, not by the rule
            )
        )
    await engine.dispose()
    response = await client.patch("/api/customers/7", json={"monthly_income": 90_000})
    assert response.status_code == 200, response.text
    assert response.json()["approved_limit"] == 3_200_000  # 36 x 90,000 = 32,40,000


async def test_patch_refusals_change_nothing(client: Client) -> None:
    first = await register(client, applicant(1))
    second = await register(client, applicant(2))
    before = (await client.get(f"/api/customers/{second}")).json()
    taken = await client.patch(f"/api/customers/{second}", json={"phone_number": PHONE + 1})
    assert taken.status_code == 409
    assert taken.json()["extra"] == {"customer_id": first}
    cases = {
        "nickname": {"nickname": "A"},
        "age": {"age": 17},
        "monthly_income": {"monthly_income": 0},
        "first_name": {"first_name": "   "},
        "last_name": {"last_name": None},
        "phone_number": {"phone_number": 123},
    }
    for field, body in cases.items():
        response = await client.patch(f"/api/customers/{second}", json=body)
        assert response.status_code == 400, (field, response.text)
        assert field in response.text, field
    assert (await client.get(f"/api/customers/{second}")).json() == before
    missing = await client.patch("/api/customers/999999", json={"age": 40})
    assert missing.status_code == 404


async def test_unknown_or_repeated_query_parameters_are_refused(client: Client) -> None:
    """A misspelt filter is not the first page of everyone, and a filter given twice is not
    silently one of its two values."""
    for query, key, message in (
        ("nmae=asha", "nmae", "Unknown query parameter"),
        ("limit=2&limit=3", "limit", "Given more than once"),
        ("name=a&name=b", "name", "Given more than once"),
    ):
        response = await client.get(f"/api/customers?{query}")
        assert response.status_code == 400, query
        assert response.json()["extra"] == [{"message": message, "key": key, "source": "query"}]
    repeated = await client.get("/api/portfolio?as_of=2025-01-01&as_of=2025-01-02")
    assert repeated.status_code == 400
    assert repeated.json()["extra"][0]["key"] == "as_of"


async def test_a_typed_query_parameter_is_never_read_as_null(client: Client) -> None:
    after = await client.get("/api/customers?after=null")
    as_of = await client.get("/api/portfolio?as_of=null")
    assert (after.status_code, as_of.status_code) == (400, 400)
    assert as_of.json()["extra"][0]["key"] == "as_of"
