"""The OpenAPI document is complete enough to build a client from."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

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
