"""Operator endpoints and request telemetry: /health, /ready, /metrics, X-Request-ID."""

from __future__ import annotations

import gc
from dataclasses import replace

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from credit.app import create_app
from credit.clock import FixedClock
from credit.settings import Settings
from tests.conftest import TODAY
from tests.integration.private_services import free_port


async def test_health_answers_without_touching_dependencies(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_the_database_and_skips_unconfigured_redis(
    client: AsyncTestClient[Litestar],
) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "skipped"}


async def test_ready_checks_redis_when_configured(settings: Settings, redis_url: str) -> None:
    app = create_app(replace(settings, redis_url=redis_url), clock=FixedClock(TODAY))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_ready_names_the_unreachable_dependency(settings: Settings) -> None:
    broken = replace(settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    async with AsyncTestClient(app=create_app(broken, clock=FixedClock(TODAY))) as client:
        response = await client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status_code"] == 503
    assert "redis" in body["detail"]
    assert body["extra"]["checks"]["database"] == "ok"
    assert body["extra"]["checks"]["redis"].startswith("unreachable")


async def test_ready_is_503_when_the_database_is_down(settings: Settings) -> None:
    if not settings.database_url.startswith("postgresql"):
        return  # an SQLite file cannot be "down"; the PostgreSQL run covers this
    # The same server address with a port where nothing listens (whichever server the session uses).
    url = make_url(settings.database_url).set(port=free_port()).render_as_string(False)
    down = replace(settings, database_url=url)
    async with AsyncTestClient(app=create_app(down, clock=FixedClock(TODAY))) as client:
        response = await client.get("/ready")
        health = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["extra"]["checks"]["database"] != "ok"
    assert "database" in response.json()["detail"]
    assert health.status_code == 200


async def test_request_id_is_echoed_or_generated(client: AsyncTestClient[Litestar]) -> None:
    given = await client.get("/api/customers/999999", headers={"X-Request-ID": "req-42.a:b"})
    assert given.status_code == 404
    assert given.headers["x-request-id"] == "req-42.a:b"

    generated = await client.get("/health")
    assert len(generated.headers["x-request-id"]) == 32

    # Anything that could forge log lines or blow up their size is replaced.
    hostile = await client.get("/health", headers={"X-Request-ID": 'a" b\\' + "x" * 200})
    assert hostile.headers["x-request-id"] != 'a" b\\' + "x" * 200
    assert len(hostile.headers["x-request-id"]) == 32


async def test_metrics_count_requests_per_route_template(
    client: AsyncTestClient[Litestar],
) -> None:
    for customer_id in (424242, 434343):
        assert (await client.get(f"/api/customers/{customer_id}")).status_code == 404
    await client.get("/no/such/path")

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'credit_http_requests_total{method="GET",route="/api/customers/{customer_id}",'
        'status="404"}' in text
    )
    assert "/api/customers/424242" not in text  # raw paths would explode cardinality
    assert 'route="unmatched",status="404"' in text
    assert "credit_http_request_duration_seconds_bucket" in text


async def test_operator_endpoints_are_documented_outside_the_contract(
    client: AsyncTestClient[Litestar],
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    for path in ("/health", "/ready", "/metrics"):
        operation = document["paths"][path]["get"]
        assert operation["tags"] == ["Operations"]
    for path, item in document["paths"].items():
        if path.startswith("/api"):
            for operation in item.values():
                assert "Operations" not in operation.get("tags", [])


async def test_startup_objects_are_frozen_out_of_the_collector(settings: Settings) -> None:
    """A full collection over everything a process loads took ~0.1 s (the API's p99)."""
    gc.unfreeze()
    async with AsyncTestClient(app=create_app(settings, clock=FixedClock(TODAY))):
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0
