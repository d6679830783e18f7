"""Operator endpoints and request telemetry: /health, /ready, /metrics, X-Request-ID."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar import Litestar, get
from litestar.plugins.prometheus import PrometheusConfig
from litestar.testing import AsyncTestClient
from litestar.types import Receive, Scope, Send
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from credit.app import create_app
from credit.clock import FixedClock
from credit.db.migrations import upgrade_database
from credit.plugins.metrics import RouteMetrics
from credit.settings import Settings
from tests.conftest import TODAY, _admin, _sqlalchemy_url, in_own_loop
from tests.integration.private_services import free_port

# The revision before the head: a database that `credit database upgrade` has not caught up.
BEHIND_HEAD = "0004_drop_customer_end_date"


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
    assert response.json()["checks"] == {"database": "ok", "schema": "ok", "redis": "skipped"}


async def test_ready_checks_redis_when_configured(settings: Settings, redis_url: str) -> None:
    app = create_app(replace(settings, redis_url=redis_url), clock=FixedClock(TODAY))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "schema": "ok", "redis": "ok"}


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
    assert response.json()["extra"]["checks"]["schema"] == "skipped"
    assert "database" in response.json()["detail"]
    assert health.status_code == 200


@pytest.fixture
def postgres_behind_head(pg_admin_dsn: str) -> Iterator[str]:
    """A fresh PostgreSQL database migrated to the revision before the head."""
    name = f"credit_test_behind_{uuid.uuid4().hex[:8]}"
    in_own_loop(_admin(pg_admin_dsn, f'CREATE DATABASE "{name}"'))
    url = _sqlalchemy_url(pg_admin_dsn.rsplit("/", 1)[0] + f"/{name}")
    try:
        upgrade_database(Settings(database_url=url, sample_data_dir=None), BEHIND_HEAD)
        yield url
    finally:
        in_own_loop(_admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def test_ready_is_503_while_postgresql_is_behind_the_migrations(
    postgres_behind_head: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Web started before `credit database upgrade`: not ready, and it says what to run; the
    upgrade makes it ready without a restart."""
    settings = Settings(database_url=postgres_behind_head, sample_data_dir=None)
    async with AsyncTestClient(app=create_app(settings, clock=FixedClock(TODAY))) as client:
        started = capsys.readouterr().out
        behind = await client.get("/ready")
        upgrade_database(settings)
        caught_up = await client.get("/ready")
    assert behind.status_code == 503
    body = behind.json()
    assert BEHIND_HEAD in body["detail"]
    assert "run `credit database upgrade`" in body["detail"]
    assert body["extra"]["checks"]["database"] == "ok"
    assert BEHIND_HEAD in body["extra"]["checks"]["schema"]
    warning = next(line for line in started.splitlines() if "serving database" in line)
    assert "credit database upgrade" in warning
    assert '"level":"warning"' in warning
    assert "postgres" in warning
    assert caught_up.status_code == 200, caught_up.text
    assert caught_up.json()["checks"]["schema"] == "ok"


async def test_ready_is_503_when_the_schema_revision_is_not_the_head(settings: Settings) -> None:
    """On both databases: the version table says an older revision (SQLite's embedded start
    upgrades to head itself, so the revision is set back after start-up)."""
    engine = create_async_engine(settings.database_url)

    async def set_revision(revision: str) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE alembic_versions SET version_num = :revision"), {"revision": revision}
            )

    async with AsyncTestClient(app=create_app(settings, clock=FixedClock(TODAY))) as client:
        async with engine.connect() as conn:
            head = (await conn.execute(text("SELECT version_num FROM alembic_versions"))).scalar()
        assert head is not None
        try:
            await set_revision(BEHIND_HEAD)
            behind = await client.get("/ready")
            await set_revision("9999_from_a_newer_release")
            unknown = await client.get("/ready")
        finally:
            await set_revision(head)
        at_head = await client.get("/ready")
    await engine.dispose()
    assert behind.status_code == 503
    assert (
        f"the schema is at {BEHIND_HEAD}, behind the migrations' head {head}"
        in (behind.json()["detail"])
    )
    assert "run `credit database upgrade`" in behind.json()["detail"]
    assert unknown.status_code == 503
    assert "these migrations do not know" in unknown.json()["detail"]
    assert at_head.status_code == 200
    assert at_head.json()["checks"]["schema"] == "ok"


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


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def sample(text: str, name: str, **labels: str) -> float:
    return sum(value for found, value in samples(text, name) if labels.items() <= found.items())


async def test_metrics_count_requests_per_route_template(
    client: AsyncTestClient[Litestar],
) -> None:
    before = (await client.get("/metrics")).text
    for customer_id in (424242, 434343):
        assert (await client.get(f"/api/customers/{customer_id}")).status_code == 404
    await client.get("/no/such/path")
    assert (await client.delete("/health")).status_code == 405

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    route = {"method": "GET", "path": "/api/customers/{customer_id}", "status_code": "404"}
    counted = "credit_http_requests_total"
    assert sample(after, counted, **route) - sample(before, counted, **route) == 2
    assert (
        sample(after, "credit_http_request_duration_seconds_count", **route)
        - sample(before, "credit_http_request_duration_seconds_count", **route)
        == 2
    )
    assert "/api/customers/424242" not in after  # raw paths would explode cardinality
    assert "/no/such/path" not in after
    # The router's refusals never reach Litestar's middleware: counted by our wrapper.
    unrouted = "credit_http_unrouted_requests_total"
    for method, status in (("GET", "404"), ("DELETE", "405")):
        labels = {"method": method, "status_code": status}
        assert sample(after, unrouted, **labels) - sample(before, unrouted, **labels) == 1
    assert "credit_http_request_duration_seconds_bucket" in after
    # Finished requests leave the in-progress gauge; the scrape itself is in progress.
    in_progress = "credit_http_requests_in_progress"
    assert sample(after, in_progress, path="/api/customers/{customer_id}") == 0
    assert sample(after, in_progress, path="/metrics") >= 1
    assert {"method", "path", "status_code", "app_name"} <= samples(after, counted)[0][0].keys()


def test_the_lean_metrics_middleware_refuses_options_it_does_not_implement() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("never called")

    with pytest.raises(ValueError, match="extra labels"):
        RouteMetrics(app, PrometheusConfig(labels={"region": "in"}))


@get("/boom", sync_to_thread=False, opt={"exclude_from_auth": True})
def boom() -> None:
    raise RuntimeError("boom")


async def test_metrics_count_server_errors(settings: Settings) -> None:
    app = create_app(settings, clock=FixedClock(TODAY))
    app.register(boom)
    async with AsyncTestClient(app=app) as client:
        before = (await client.get("/metrics")).text
        assert (await client.get("/boom")).status_code == 500
        after = (await client.get("/metrics")).text
    labels = {"path": "/boom", "status_code": "500"}
    for name in ("credit_http_requests_total", "credit_http_requests_error_total"):
        assert sample(after, name, **labels) - sample(before, name, **labels) == 1


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
