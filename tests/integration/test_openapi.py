"""The OpenAPI document is complete enough to build a client from, its examples are
realistic, and the documentation pages need nothing from outside the service."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.settings import Settings
from tests.conftest import TODAY

CONTRACT_PATHS = {
    "/api/register",
    "/api/check-eligibility",
    "/api/create-loan",
    "/api/view-loan/{loan_id}",
    "/api/view-loans/{customer_id}",
}


async def test_every_operation_is_documented(client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    assert set(document["paths"]) >= CONTRACT_PATHS
    operation_ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            assert operation.get("operationId"), where
            operation_ids.append(operation["operationId"])
            if path.startswith("/api/"):
                errors = [code for code in operation["responses"] if code.startswith("4")]
                assert "400" in errors, where
    assert len(operation_ids) == len(set(operation_ids))


async def test_docs_are_served(client: AsyncTestClient[Litestar]) -> None:
    for page in ("/schema", "/schema/swagger", "/schema/redoc", "/schema/scalar"):
        response = await client.get(page)
        assert response.status_code == 200, page
        assert "text/html" in response.headers["content-type"], page


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        if path.startswith("/api/"):
            for method, operation in operations.items():
                yield f"{method.upper()} {path}", operation


def _examples(response: dict[str, Any]) -> list[Any]:
    content = response.get("content", {}).get("application/json", {})
    return [example["value"] for example in content.get("examples", {}).values()]


PLACEHOLDER_NUMBER = re.compile(r"(^|_)(id|amount|income|installment|emi|limit|rate|tenure)$")


def _placeholders(value: Any, key: str = "") -> list[str]:
    """What a documentation page makes up without an example: "string", and 0 for an id,
    an amount or a rate (a count of 0 rows is real)."""
    if isinstance(value, dict):
        return [p for name, item in value.items() for p in _placeholders(item, name)]
    if isinstance(value, list):
        return [p for item in value for p in _placeholders(item, key)]
    if value == "string" or (
        value == 0 and not isinstance(value, bool) and PLACEHOLDER_NUMBER.search(key)
    ):
        return [f"{key}={value!r}"]
    return []


async def test_errors_share_one_typed_model_with_examples(
    client: AsyncTestClient[Litestar],
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    error = document["components"]["schemas"]["ApiError"]
    assert set(error["properties"]) == {"status_code", "detail", "extra"}
    assert set(error["required"]) == {"status_code", "detail"}
    for where, operation in _operations(document):
        for code, response in operation["responses"].items():
            schema = response["content"]["application/json"]["schema"]
            examples = _examples(response)
            assert examples, f"{where} {code}: no example"
            assert not _placeholders(examples), f"{where} {code}: {examples}"
            if code.startswith(("4", "5")):
                assert schema == {"$ref": "#/components/schemas/ApiError"}, f"{where} {code}"
                assert all(example["status_code"] == int(code) for example in examples)


async def test_create_loan_examples_say_what_happened(client: AsyncTestClient[Litestar]) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    responses = document["paths"]["/api/create-loan"]["post"]["responses"]
    (booked,) = _examples(responses["201"])
    (declined,) = _examples(responses["200"])
    assert booked["loan_approved"] is True
    assert isinstance(booked["loan_id"], int)
    assert declined["loan_approved"] is False
    assert declined.get("loan_id") is None  # Litestar drops nulls from examples


async def test_id_maxima_are_written_as_integers(client: AsyncTestClient[Litestar]) -> None:
    text = (await client.get("/schema/openapi.json")).text
    assert '"maximum":9007199254740991' in text  # 2^53 - 1 (docs/reliability.md)
    assert "e+15" not in text


async def test_created_responses_describe_what_was_created(
    client: AsyncTestClient[Litestar],
) -> None:
    text = (await client.get("/schema/openapi.json")).text
    assert "URL follows" not in text


async def test_401_carries_www_authenticate(settings: Settings) -> None:
    secured = replace(
        settings, auth_required=True, rate_limit_per_second=0, rate_limit_anonymous_per_second=0
    )
    async with AsyncTestClient(app=create_app(secured, clock=FixedClock(TODAY))) as client:
        document = (await client.get("/schema/openapi.json")).json()
        for where, operation in _operations(document):
            header = operation["responses"]["401"]["headers"]["WWW-Authenticate"]
            assert header["required"] is True, where
        for key in (None, "ck_not-a-real-key"):
            response = await client.get(
                "/api/customers/1", headers={"X-API-Key": key} if key else {}
            )
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("ApiKey ")


async def test_unknown_schema_paths_answer_json_404(client: AsyncTestClient[Litestar]) -> None:
    for path in ("/schema/nope", "/schema/swagger/x", "/schema/openapi.yml"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json"), path
        assert response.json()["status_code"] == 404


async def test_docs_pages_load_nothing_from_outside(client: AsyncTestClient[Litestar]) -> None:
    for page in ("/schema", "/schema/swagger", "/schema/redoc"):
        html = (await client.get(page)).text
        sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert sources, page
        for source in sources:
            assert source.startswith(("/schema/assets/", "data:")), (page, source)
            if source.startswith("/schema/"):
                asset = await client.get(source)
                assert asset.status_code == 200, source
                assert len(asset.content) > 100, source
