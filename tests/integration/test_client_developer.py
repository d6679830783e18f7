"""A client developer's first day (issue 23): the OpenAPI document always declares the API
key and its answers, saying whether this server enforces them; browsers on the allowed
origins may call the API (CORS), and no other origin by default."""

from __future__ import annotations

from dataclasses import replace

import pytest
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.settings import Settings


async def document(settings: Settings) -> dict:  # type: ignore[type-arg]
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/schema/openapi.json")
        assert response.status_code == 200
        return response.json()  # type: ignore[no-any-return]


async def test_the_key_scheme_is_declared_on_an_open_server_too(settings: Settings) -> None:
    open_ = await document(replace(settings, auth_required=False, rate_limit_per_second=0))
    assert open_["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "name": "X-API-Key",
        "in": "header",
        "description": open_["components"]["securitySchemes"]["apiKey"]["description"],
    }
    assert "this server does not require one" in open_["info"]["description"]
    for path, operations in open_["paths"].items():
        if not path.startswith("/api"):
            continue
        for operation in operations.values():
            assert {"401", "403", "429"} <= set(operation["responses"]), path
            assert operation["security"] == [{"apiKey": []}, {}], path  # the key, or none

    enforced = await document(replace(settings, auth_required=True))
    assert "this server requires one" in enforced["info"]["description"]
    register = enforced["paths"]["/api/register"]["post"]
    assert register["security"] == [{"apiKey": []}]


async def test_cors_lets_the_allowed_origins_only(settings: Settings) -> None:
    origin = "https://console.example.in"
    allowed = replace(settings, cors_allowed_origins=(origin,), auth_required=True)
    async with AsyncTestClient(app=create_app(allowed)) as client:
        preflight = await client.options(
            "/api/customers",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "x-api-key, idempotency-key, content-type",
            },
        )
        assert preflight.status_code in (200, 204), preflight.text
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "PATCH" in preflight.headers["access-control-allow-methods"]
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()
        answer = await client.get("/api/customers", headers={"Origin": origin})
        assert answer.status_code == 401  # the key is still needed
        assert answer.headers["access-control-allow-origin"] == origin
        assert "www-authenticate" in answer.headers["access-control-expose-headers"].lower()
        other = await client.get("/api/customers", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers

    async with AsyncTestClient(app=create_app(settings)) as client:
        answer = await client.get("/api/customers", headers={"Origin": origin})
        assert answer.status_code == 200
        assert "access-control-allow-origin" not in answer.headers  # none by default


def test_cors_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", " https://a.example , https://b.example,")
    assert Settings.from_env().cors_allowed_origins == ("https://a.example", "https://b.example")
    monkeypatch.delenv("CORS_ALLOWED_ORIGINS")
    assert Settings.from_env().cors_allowed_origins == ()
