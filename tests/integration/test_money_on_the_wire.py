"""Money on the wire: amounts go out as the exact decimals they are, as JSON numbers, and the
OpenAPI document gives each field one type wherever it appears."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.lending.amortization import monthly_installment
from credit.settings import Settings
from tests.integration.test_api_loans import application, register

Client = AsyncTestClient[Litestar]

MONEY = {
    "loan_amount",
    "monthly_installment",
    "outstanding_principal",
    "current_debt",
    "current_emis",
    "amount",
    "interest",
    "principal",
    "balance",
    "amount_paid",
    "emi",
    "interest_rate",
    "corrected_interest_rate",
    "recorded_monthly_installment",
}
# Ingestion's multipart upload sends files named `customers` and `loans`, and its report
# counts them under the same names: two different things, not one field. A job's `progress`
# and `report` are ingestion's own in `GET /api/ingest/{id}` and any job's in
# `GET /api/jobs/{id}`; `rejected` is a count in one report and the rows in another.
# `items` is a page's list: customers' profiles (GET /api/customers) or decisions.
NOT_ONE_FIELD = {"customers", "loans", "rejected", "progress", "report", "items"}


def _type(prop: dict[str, Any]) -> str:
    """The property's type, nullability aside."""
    for alternative in prop.get("oneOf", prop.get("anyOf", [])):
        if alternative.get("type") != "null":
            return _type(alternative)
    if "$ref" in prop:
        return str(prop["$ref"])
    if isinstance(prop.get("type"), list):
        kinds = [kind for kind in prop["type"] if kind != "null"]
        return str(kinds[0]) if len(kinds) == 1 else str(kinds)
    if prop.get("type") == "array":
        return f"array of {_type(prop.get('items', {}))}"
    return str(prop.get("type"))


async def test_each_field_has_one_type_and_money_is_a_number(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    types: dict[str, set[str]] = defaultdict(set)
    for schema in document["components"]["schemas"].values():
        for name, prop in schema.get("properties", {}).items():
            types[name].add(_type(prop))
    mixed = {name: kinds for name, kinds in types.items() if len(kinds) > 1}
    assert set(mixed) <= NOT_ONE_FIELD, mixed
    assert types["monthly_income"] == {"integer"}
    assert types["approved_limit"] == {"integer"}
    for name in MONEY:
        assert types[name] == {"number"}, name
    schemas = document["components"]["schemas"]
    assert schemas["CustomerProfile"]["properties"]["monthly_income"]["type"] == "integer"
    assert schemas["RegisteredCustomer"]["properties"]["monthly_income"]["type"] == "integer"


async def test_amounts_are_written_exactly_as_numbers(client: Client, settings: Settings) -> None:
    customer_id = await register(client)
    booked = (
        await client.post("/api/create-loan", json=application(customer_id, loan_amount=123_456.78))
    ).json()
    response = await client.get(f"/api/view-loan/{booked['loan_id']}")
    # The stored decimals, digit for digit (a float would have written 123456.78 as well, but
    # never the trailing zero of 12.0000 or of 0.00).
    assert '"loan_amount":123456.78' in response.text
    assert '"interest_rate":12.0000' in response.text
    exact = json.loads(response.text, parse_float=Decimal)
    emi = monthly_installment(Decimal("123456.78"), Decimal(12), 12)
    assert exact["monthly_installment"] == emi
    assert f'"monthly_installment":{emi}' in response.text
    profile = await client.get(f"/api/customers/{customer_id}")
    assert '"monthly_income":100000,' in profile.text
    assert '"approved_limit":3600000,' in profile.text
    assert '"current_debt":123456.78' in profile.text
