"""Property-based fuzzing of every operation in the app's own OpenAPI document (schemathesis).

The app runs in-process (ASGI) on a fresh database of each kind, SQLite and PostgreSQL
(which refuses text SQLite stores, U+0000), seeded with customers and loans whose ids are
the small integers hypothesis tries first, so the fuzzer reaches the found paths as well as
the 404s. Access control is on and every case carries a write key, so the authentication and
scope layers are fuzzed too (rate limiting is off: a fuzzer is a flood).

Every check schemathesis has (`--checks all`) runs on every response: no 5xx, documented
status codes, headers, content types and bodies, invalid input rejected and valid input
accepted, auth not ignored, methods and headers handled. Then the stateful phase chains
operations through the document's links (register -> profile, book -> view). The number of
cases per operation is printed and written to `var/test-figures/fuzz-<db>.json` for
docs/reliability.md.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.specs.openapi.checks import negative_data_rejection
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from credit.app import create_app
from credit.clock import FixedClock
from credit.modules.access.service import create_key
from credit.plugins.migrations import upgrade_database
from credit.settings import Settings
from tests.conftest import PG_ADMIN_DSN, TODAY, in_own_loop
from tests.integration.book import PastLoan, seed_loans

MAX_EXAMPLES = 60
STATEFUL_EXAMPLES = 40
load_all_checks()
CHECKS = REGISTERED_CHECKS.get_all()  # `--checks all`
FIGURES = Path(__file__).resolve().parents[2] / "var" / "test-figures"
CASES: Counter[str] = Counter()
STATUSES: Counter[str] = Counter()
API_KEY: dict[str, str] = {}


async def _seed(url: str) -> str:
    engine = create_async_engine(url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        _, secret = await create_key(session, "fuzzer", "write")
        await session.commit()
    await engine.dispose()
    return secret


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _fuzz_app(tmp: Path, url: str) -> Litestar:
    settings = Settings(
        database_url=url,
        sample_data_dir=None,
        upload_dir=tmp / "uploads",
        auth_required=True,
        rate_limit_per_second=0,
        rate_limit_anonymous_per_second=0,
        max_upload_bytes=256 * 1024,
    )
    upgrade_database(settings)
    API_KEY["write"] = in_own_loop(_seed(url))
    return create_app(settings, clock=FixedClock(TODAY))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fuzz_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Litestar]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        yield _fuzz_app(tmp, f"sqlite+aiosqlite:///{tmp / 'fuzz.sqlite3'}")
        return
    name = f"credit_fuzz_{uuid.uuid4().hex[:10]}"
    in_own_loop(_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield _fuzz_app(tmp, f"{base}/{name}")
    finally:
        in_own_loop(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Litestar) -> schemathesis.BaseSchema:
    from litestar.testing import TestClient

    with TestClient(app=fuzz_app) as client:
        key = {"X-API-Key": API_KEY["write"]}
        for n in range(1, 6):
            registered = client.post(
                "/api/register",
                json={
                    "first_name": f"Fuzz{n}",
                    "last_name": "Seed",
                    "age": 30 + n,
                    "monthly_income": 40_000 * n,
                    "phone_number": 9_100_000_000 + n,
                },
                headers=key,
            )
            assert registered.status_code == 201, registered.text
        url = str(fuzz_app.state.settings.database_url)
        past = [
            PastLoan(200_000, "11.5", 24, date(2023, 3, 10), paid_on_time=20),
            PastLoan(150_000, "9", 36, date(2024, 11, 30), paid_on_time=6),
            PastLoan(90_000, "14", 12, date(2021, 1, 31), paid_on_time=12, source_loan_id=7),
        ]
        for customer in range(1, 4):
            in_own_loop(seed_loans(url, customer, past))
        booked = client.post(
            "/api/create-loan",
            json={"customer_id": 4, "loan_amount": 50_000, "interest_rate": 15, "tenure": 12},
            headers=key,
        )
        assert booked.status_code in (200, 201), booked.text
    return schemathesis.openapi.from_asgi("/schema/openapi.json", fuzz_app)


def _fuzz(operation: APIOperation, mode: GenerationMode, key: str) -> None:
    name = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        CASES[name] += 1
        # The documented security scheme makes schemathesis generate its own X-API-Key values;
        # every case carries the real key instead, so the fuzzing reaches the handlers.
        headers = {"X-API-Key": key}
        response = case.call(headers=headers)
        STATUSES[str(response.status_code)] += 1
        checks = CHECKS
        if name == "POST /api/ingest":
            # Any bytes are a valid `format: binary` file part; a file that is not a workbook
            # is accepted (202) and fails its job with a clear message, as the contract says
            # (tests/integration/test_bad_workbooks.py covers those).
            checks = [check for check in CHECKS if check is not negative_data_rejection]
        case.validate_response(response, checks=checks, headers=headers)

    run()


def _database(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["fuzz_app"])


def test_every_operation_survives_fuzzing(
    api_schema: schemathesis.BaseSchema, request: pytest.FixtureRequest
) -> None:
    """Each operation, positive and negative data; a failure is reported with its case."""
    CASES.clear()
    STATUSES.clear()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, API_KEY["write"])
            except Unsatisfiable:
                # No invalid input exists for an operation without parameters or body.
                assert mode is GenerationMode.NEGATIVE, operation.path
            except (Exception, BaseExceptionGroup) as exc:  # one finding must not hide others
                failures.append(f"{operation.method.upper()} {operation.path} [{mode}]: {exc}")
    figures = {
        "database": _database(request),
        "checks": sorted(check.__name__ for check in CHECKS),
        "cases": sum(CASES.values()),
        "operations": len(operations),
        "max_examples_per_operation_and_mode": MAX_EXAMPLES,
        "per_operation": dict(sorted(CASES.items())),
        "statuses": dict(sorted(STATUSES.items())),
    }
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"fuzz-{_database(request)}.json").write_text(json.dumps(figures, indent=2))
    print(f"\nfuzzed {figures['cases']} cases over {len(operations)} operations")
    assert not failures, "\n\n".join(failures)
    names = {f"{op.method.upper()} {op.path}" for op in operations}
    assert set(CASES) == names, f"operations never fuzzed: {names - set(CASES)}"
    assert any(path.startswith("/api/") for path in (op.path for op in operations))


def test_stateful_sequences_survive_fuzzing(api_schema: schemathesis.BaseSchema) -> None:
    """Chains of calls through the document's links, every check on every response."""
    key = API_KEY["write"]
    steps: Counter[str] = Counter()

    class Machine(api_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"headers": {"X-API-Key": key}}

        def validate_response(
            self, response: object, case: schemathesis.Case, **kwargs: object
        ) -> None:
            steps[f"{case.method.upper()} {case.path}"] += 1
            checks = CHECKS
            if case.path == "/api/ingest":
                checks = [check for check in CHECKS if check is not negative_data_rejection]
            case.validate_response(response, checks=checks, headers={"X-API-Key": key})

    Machine.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            stateful_step_count=6,
        )
    )
    print(f"\nstateful: {sum(steps.values())} calls over {len(steps)} operations")
    assert len(steps) >= 5, steps
