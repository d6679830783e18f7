"""Access control and request limits: API keys, scopes, rate limits, body size, ranges, privacy.

Runs on SQLite and PostgreSQL (the `settings` fixture); keys are made with the same service
`credit keys create` uses, and the CLI itself is exercised end to end in a subprocess.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.cli.main import litestar_group
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from credit.app import create_app
from credit.clock import FixedClock
from credit.db.database import sqlalchemy_config
from credit.modules.access.plugin import OPEN_WARNING
from credit.modules.access.service import ApiKeyService
from credit.settings import Settings
from tests.conftest import TODAY, in_own_loop

Client = AsyncTestClient[Litestar]
REPO = Path(__file__).resolve().parents[2]

# Every /api operation with a request that passes validation (ids need not exist: a 404
# still proves the request got past authentication).
LOAN = {"customer_id": 1, "loan_amount": 100_000, "interest_rate": 12, "tenure": 12}
READS = [
    ("GET", "/api/customers/1", None),
    ("GET", "/api/customers/1/credit-score", None),
    ("GET", "/api/view-loan/1", None),
    ("GET", "/api/view-loans/1", None),
    ("GET", "/api/loans/1/schedule", None),
    ("GET", "/api/view-statement/1/1", None),
    ("GET", "/api/decisions/1", None),
    ("GET", "/api/customers/1/decisions", None),
    ("POST", "/api/check-eligibility", LOAN),
    ("GET", "/api/loans/1/classification-history", None),
    ("GET", "/api/portfolio", None),
    ("GET", "/api/jobs/00000000000000000000000000000000", None),
]
WRITES = [
    (
        "POST",
        "/api/register",
        {
            "first_name": "Kavya",
            "last_name": "Iyer",
            "age": 29,
            "monthly_income": 64_321,
            "phone_number": 9_812_345_670,
        },
    ),
    ("POST", "/api/create-loan", LOAN),
    ("POST", "/api/make-payment/1/1", {"amount": 100}),
    ("POST", "/api/reverse-payment/1/1/1", {"reason": "returned unpaid"}),
    ("POST", "/api/close-day", {"date": "2025-01-01"}),
]


async def _issue(url: str, name: str, scope: str) -> tuple[int, str]:
    alchemy = sqlalchemy_config(Settings(database_url=url, sample_data_dir=None))
    try:
        async with ApiKeyService.new(config=alchemy) as keys:
            key, secret = await keys.create_key(name, scope)  # type: ignore[arg-type]
            return key.id, secret
    finally:
        await alchemy.get_engine().dispose()


async def _revoke(url: str, key_id: int) -> None:
    alchemy = sqlalchemy_config(Settings(database_url=url, sample_data_dir=None))
    try:
        async with ApiKeyService.new(config=alchemy) as keys:
            await keys.revoke_key(key_id)
    finally:
        await alchemy.get_engine().dispose()


async def _delete_keys(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM api_keys"))
    await engine.dispose()


@pytest.fixture
def secured(settings: Settings) -> Iterator[Settings]:
    yield replace(
        settings, auth_required=True, rate_limit_per_second=0, rate_limit_anonymous_per_second=0
    )
    in_own_loop(_delete_keys(settings.database_url))


@pytest.fixture
async def secured_client(secured: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(secured, clock=FixedClock(TODAY))) as client:
        yield client


async def _call(client: Client, method: str, path: str, body: Any, key: str | None) -> Any:
    headers = {"X-API-Key": key} if key else {}
    return await client.request(method, path, json=body, headers=headers)


def _api_paths(app: Litestar) -> set[str]:
    return {route.path for route in app.routes if route.path.startswith("/api")}


async def test_every_api_route_needs_a_key(secured: Settings, secured_client: Client) -> None:
    app = secured_client.app
    called = {path.split("/")[2] for _, path, _ in READS + WRITES}
    # The table above must cover every /api route the app serves (ingestion included).
    served = {path.split("/")[2] for path in _api_paths(app)}
    uploads = {"ingest", "payments"}  # multipart: called below without a body
    assert served - called <= uploads, f"routes without an access test: {served - called}"
    calls = [
        *READS,
        *WRITES,
        ("GET", "/api/ingest/00000000-0000-0000-0000-000000000000", None),
        ("POST", "/api/payments/import", None),
    ]
    for method, path, body in calls:
        for key in (None, "ck_not-a-real-key", "garbage"):
            response = await _call(secured_client, method, path, body, key)
            assert response.status_code == 401, (method, path, key, response.text)
            assert response.json()["status_code"] == 401
            assert key is None or key not in response.text
    # Probes and docs stay open.
    assert (await secured_client.get("/health")).status_code == 200
    schema = (await secured_client.get("/schema/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"
    assert "401" in schema["paths"]["/api/register"]["post"]["responses"]


async def test_read_keys_read_and_write_keys_write(
    secured: Settings, secured_client: Client
) -> None:
    _, read = await _issue(secured.database_url, "dashboard", "read")
    _, write = await _issue(secured.database_url, "branch", "write")
    for method, path, body in READS:
        response = await _call(secured_client, method, path, body, read)
        assert response.status_code in (200, 404), (path, response.text)
    for method, path, body in WRITES:
        response = await _call(secured_client, method, path, body, read)
        assert response.status_code == 403, (path, response.text)
        assert "needs write" in response.json()["detail"]
    registered = await _call(secured_client, *WRITES[0], write)
    assert registered.status_code == 201
    customer = registered.json()["customer_id"]
    loan = LOAN | {"customer_id": customer}
    booked = await _call(secured_client, "POST", "/api/create-loan", loan, write)
    assert booked.status_code in (200, 201)
    # A write key reads too.
    profile = await _call(secured_client, "GET", f"/api/customers/{customer}", None, write)
    assert profile.status_code == 200


async def test_revoked_keys_stop_working_at_once(secured: Settings, secured_client: Client) -> None:
    key_id, secret = await _issue(secured.database_url, "temp", "read")
    before = await _call(secured_client, "GET", "/api/view-loans/1", None, secret)
    assert before.status_code == 404
    await _revoke(secured.database_url, key_id)
    revoked = await _call(secured_client, "GET", "/api/view-loans/1", None, secret)
    assert revoked.status_code == 401


async def test_keys_are_stored_only_as_sha256_digests(secured: Settings) -> None:
    _, secret = await _issue(secured.database_url, "audit", "write")
    assert secret.startswith("ck_")
    assert len(secret) >= 40
    engine = create_async_engine(secured.database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM api_keys"))).mappings().all()
    await engine.dispose()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0].values())
    assert secret not in stored
    assert secret[10:] not in stored  # not even the secret part beyond the display prefix
    assert rows[0]["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()


async def test_open_mode_warns_at_start_up(
    settings: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    assert not settings.auth_required  # the default the rest of the suite runs with
    with caplog.at_level(logging.WARNING, logger="credit.security"):
        async with AsyncTestClient(app=create_app(settings, clock=FixedClock(TODAY))) as client:
            assert (await client.get("/api/view-loans/1")).status_code == 404
    logged = caplog.text + capfd.readouterr().out
    assert "AUTH_REQUIRED is false" in logged
    assert OPEN_WARNING.split(":")[0] in logged


async def test_rate_limit_counts_per_key(secured: Settings) -> None:
    # A burst of 3, then one request every 1,000 s: the 4th is refused however slow the test.
    limited = replace(secured, rate_limit_per_second=0.001, rate_limit_burst=3)
    _, first = await _issue(secured.database_url, "a", "read")
    _, second = await _issue(secured.database_url, "b", "read")
    async with AsyncTestClient(app=create_app(limited, clock=FixedClock(TODAY))) as client:
        codes = [
            (await _call(client, "GET", "/api/view-loans/1", None, first)).status_code
            for _ in range(4)
        ]
        assert codes == [404, 404, 404, 429]
        throttled = await _call(client, "GET", "/api/view-loans/1", None, first)
        assert throttled.status_code == 429
        assert throttled.headers["RateLimit-Remaining"] == "0"
        assert throttled.json()["status_code"] == 429
        # Another key has its own budget; probes are never throttled.
        assert (await _call(client, "GET", "/api/view-loans/1", None, second)).status_code == 404
        assert (await client.get("/health")).status_code == 200


@pytest.mark.xdist_group("redis-rate-limit")  # see tests/integration/test_stack.py
async def test_rate_limit_is_shared_through_redis(secured: Settings, redis_url: str) -> None:
    """Two app instances (two web processes) with REDIS_URL count one budget per key."""
    limited = replace(secured, rate_limit_per_second=0.001, rate_limit_burst=4, redis_url=redis_url)
    key_id, key = await _issue(secured.database_url, f"shared-{uuid.uuid4().hex}", "read")
    # Key ids restart in every test database: forget this key's budget before and after, or
    # its slow refill (0.001 a second) would refuse the next test's key with the same id.
    redis = Redis.from_url(redis_url)
    budget = f"credit_rate_limit:key:{key_id}"
    await redis.delete(budget)
    apps = [create_app(limited, clock=FixedClock(TODAY)) for _ in range(2)]
    try:
        async with AsyncTestClient(app=apps[0]) as one, AsyncTestClient(app=apps[1]) as two:
            codes = []
            for client in (one, two, one, two, one, two):
                response = await _call(client, "GET", "/api/view-loans/1", None, key)
                codes.append(response.status_code)
    finally:
        await redis.delete(budget)
        await redis.aclose()
    assert codes == [404, 404, 404, 404, 429, 429]


async def test_bodies_over_the_limit_get_413(settings: Settings) -> None:
    small = replace(settings, max_request_body_bytes=2048)
    async with AsyncTestClient(app=create_app(small, clock=FixedClock(TODAY))) as client:
        padded = WRITES[0][2] | {"first_name": "A" * 4096}  # type: ignore[operator]
        response = await client.post("/api/register", json=padded)
        assert response.status_code == 413
        assert response.json()["status_code"] == 413
        assert (await client.post("/api/check-eligibility", json=LOAN)).status_code == 404


OUT_OF_RANGE = [
    ("/api/register", {"age": 17}),
    ("/api/register", {"age": 121}),
    ("/api/register", {"monthly_income": 0}),
    ("/api/register", {"monthly_income": 1_000_000_001}),
    ("/api/register", {"phone_number": 999_999_999}),
    ("/api/register", {"phone_number": 10_000_000_000}),
    ("/api/register", {"first_name": ""}),
    ("/api/register", {"first_name": "   "}),
    ("/api/register", {"last_name": "x" * 101}),
    ("/api/check-eligibility", {"loan_amount": 0}),
    ("/api/check-eligibility", {"loan_amount": 10_000_000_001}),
    ("/api/check-eligibility", {"loan_amount": 1e308 * 10}),
    ("/api/check-eligibility", {"interest_rate": -0.01}),
    ("/api/check-eligibility", {"interest_rate": 100.01}),
    ("/api/check-eligibility", {"tenure": 0}),
    ("/api/check-eligibility", {"tenure": 601}),
    ("/api/check-eligibility", {"customer_id": 0}),
    ("/api/check-eligibility", {"customer_id": 2**63}),
    ("/api/create-loan", {"tenure": 1.5}),
    ("/api/create-loan", {"interest_rate": "ten"}),
]


async def test_numbers_outside_the_documented_ranges_get_400(client: Client) -> None:
    for path, override in OUT_OF_RANGE:
        base = WRITES[0][2] if path == "/api/register" else LOAN
        body = json.dumps(base | override, allow_nan=True)  # type: ignore[operator]
        response = await client.post(
            path, content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, (path, override, response.text)
        assert response.json()["status_code"] == 400
    for path in ("/api/customers/0", "/api/view-loan/9223372036854775808", "/api/view-loans/-1"):
        response = await client.get(path)
        assert response.status_code in (400, 404), (path, response.text)
        assert response.json()["status_code"] == response.status_code


async def test_phone_numbers_and_incomes_never_reach_logs_or_errors(
    client: Client, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    phone, income = 9_753_186_420, 58_763
    person = WRITES[0][2] | {"phone_number": phone, "monthly_income": income}  # type: ignore[operator]
    bodies: list[str] = []
    with caplog.at_level(logging.DEBUG):
        created = await client.post("/api/register", json=person)
        assert created.status_code == 201
        customer = created.json()["customer_id"]
        duplicate = await client.post("/api/register", json=person)
        assert duplicate.status_code == 409
        bodies.append(duplicate.text)
        for bad in ({"age": 12}, {"phone_number": phone * 10}, {"monthly_income": -income}):
            response = await client.post("/api/register", json=person | bad)
            assert response.status_code == 400
            bodies.append(response.text)
        refused = await client.post(
            "/api/check-eligibility",
            json={"customer_id": customer, "loan_amount": 9e9, "interest_rate": 5, "tenure": 12},
        )
        assert refused.status_code == 200
        assert (await client.get(f"/api/customers/{customer + 1000}")).status_code == 404
    logged = caplog.text + "".join(capfd.readouterr())
    assert "/api/register" in logged  # the requests were logged...
    for secret in (str(phone), str(income), f"{income:,}"):
        assert secret not in logged  # ...without the personal data
        for body in bodies:
            assert secret not in body


def test_keys_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {
        "DATABASE_URL": url,
        "SAMPLE_DATA_DIR": "",
        "AUTH_REQUIRED": "true",
        "LITESTAR_APP": "credit.app:create_app",
    }

    def run(*args: str, ok: bool = True) -> str:
        # In-process (the console script's group) to keep the suite fast; one real process below.
        result = CliRunner().invoke(litestar_group, ["keys", *args], env=env)
        assert (result.exit_code == 0) is ok, result.output
        return result.output

    created = run("create", "branch-office", "--scope", "write")
    secret = created.strip().splitlines()[-1]
    assert secret.startswith("ck_")
    # Refusals say why and exit non-zero; nothing is created.
    assert "needs a name" in run("create", "  ", ok=False)
    assert "'branch-office' already exists" in run("create", "branch-office", ok=False)

    async def status(key: str) -> int:
        app = create_app(Settings(database_url=url, sample_data_dir=None, auth_required=True))
        async with AsyncTestClient(app=app) as client:
            return (await client.get("/api/view-loans/1", headers={"X-API-Key": key})).status_code

    assert in_own_loop(status(secret)) == 404  # authenticated; the customer does not exist
    assert run("revoke", "1").strip().splitlines()[-1] == "Revoked key 1 (branch-office)."
    assert in_own_loop(status(secret)) == 401
    assert "Key 1 (branch-office) was already revoked." in run("revoke", "1", ok=False)
    assert "No API key with id 99" in run("revoke", "99", ok=False)
    listed = subprocess.run(
        [sys.executable, "-c", "from credit.cli import main; main()", "keys", "list"],
        env=os.environ | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    # The embedded database is migrated first: Alembic's JSON log lines come before the table.
    header, *rows = [line for line in listed.splitlines() if not line.startswith("{")]
    assert header.split("\t") == ["id", "prefix", "name", "scope", "state", "created"]
    assert len(rows) == 1  # the refused names created nothing
    assert "branch-office" in listed
    assert "write" in listed
    assert "revoked" in listed
    assert secret not in listed
    assert secret[:10] in listed


async def test_bad_keys_are_limited_per_address_without_lookups(
    secured: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guessing keys: past the anonymous burst an address gets 429, and its requests no
    longer reach the database (the old code looked up every guess and never limited it)."""
    from credit.modules.access.service import ApiKeyService

    lookups: list[str] = []
    real_find_active = ApiKeyService.find_active

    async def counting_find_active(service: ApiKeyService, presented: str) -> Any:
        lookups.append(presented)
        return await real_find_active(service, presented)

    monkeypatch.setattr(ApiKeyService, "find_active", counting_find_active)
    guarded = replace(
        secured,
        rate_limit_per_second=0.001,
        rate_limit_burst=1000,
        rate_limit_anonymous_per_second=0.001,  # no refill during the test
        rate_limit_anonymous_burst=5,
    )
    _, good = await _issue(secured.database_url, "good", "read")
    async with AsyncTestClient(app=create_app(guarded, clock=FixedClock(TODAY))) as client:
        codes = [
            (await _call(client, "GET", "/api/view-loans/1", None, f"ck_guess{n}")).status_code
            for n in range(12)
        ]
        assert codes == [401] * 5 + [429] * 7
        assert len(lookups) == 6  # five refused guesses, and the one that went over
        throttled = await _call(client, "GET", "/api/view-loans/1", None, "ck_guess")
        assert throttled.headers["Retry-After"]
        assert throttled.json()["status_code"] == 429
        no_key = await _call(client, "GET", "/api/view-loans/1", None, None)
        assert no_key.status_code == 429  # no key at all counts the same
        assert len(lookups) == 6
    # A valid key is served by a process that has not refused this address.
    async with AsyncTestClient(app=create_app(guarded, clock=FixedClock(TODAY))) as other:
        assert (await _call(other, "GET", "/api/view-loans/1", None, good)).status_code == 404
