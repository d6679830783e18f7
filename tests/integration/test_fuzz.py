"""Property-based fuzzing of every operation in the app's own OpenAPI document (schemathesis).

The app runs in-process (ASGI) on a fresh database of each kind, SQLite and PostgreSQL
(which refuses text SQLite stores, U+0000), seeded with customers and loans whose ids are
the small integers hypothesis tries first, so the fuzzer reaches the found paths as well as
the 404s. Access control is on and every case carries a write key, so the authentication and
scope layers are fuzzed too (rate limiting is off: a fuzzer is a flood).

Every check schemathesis has (`--checks all`) runs on every response: no 5xx, documented
status codes, headers, content types and bodies, invalid input rejected and valid input
accepted, auth not ignored, methods and headers handled. Then `schemathesis run` itself, over
HTTP, runs every phase including the stateful one, which chains operations through the
document's links (register -> profile, book -> view). The number of cases per operation is
printed and written to `var/test-figures/fuzz-<db>.json` for docs/reliability.md.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from credit.app import create_app
from credit.clock import FixedClock
from credit.db.database import sqlalchemy_config
from credit.db.migrations import upgrade_database
from credit.modules.access.service import ApiKeyService
from credit.settings import Settings
from tests.conftest import TODAY, _admin, in_own_loop
from tests.integration.book import PastLoan, seed_loans
from tests.integration.test_hostile_requests import pool_of

MAX_EXAMPLES = 60
CLI_EXAMPLES = 30
load_all_checks()
CHECKS = REGISTERED_CHECKS.get_all()  # `--checks all`
FIGURES = Path(__file__).resolve().parents[2] / "var" / "test-figures"
CASES: Counter[str] = Counter()
HEADS: Counter[str] = Counter()
STATUSES: Counter[str] = Counter()
API_KEY: dict[str, str] = {}
VALID_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7E]{1,255}")


async def _seed(url: str) -> str:
    alchemy = sqlalchemy_config(Settings(database_url=url, sample_data_dir=None))
    async with ApiKeyService.new(config=alchemy) as keys:
        _, secret = await keys.create_key("fuzzer", "write")
    await alchemy.get_engine().dispose()
    return secret


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
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_admin_dsn: str
) -> Iterator[Litestar]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "sqlite":
        yield _fuzz_app(tmp, f"sqlite+aiosqlite:///{tmp / 'fuzz.sqlite3'}")
        return
    name = f"credit_fuzz_{uuid.uuid4().hex[:10]}"
    in_own_loop(_admin(pg_admin_dsn, f'CREATE DATABASE "{name}"'))
    base = pg_admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield _fuzz_app(tmp, f"{base}/{name}")
    finally:
        in_own_loop(_admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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


def _lost_query_keys(case: schemathesis.Case, response: Any) -> set[str]:
    """The generated query keys that the request as sent does not carry."""
    sent = parse_qs(urlsplit(str(response.request.url)).query, keep_blank_values=True)
    return set(case.query or {}) - set(sent)


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
        if VALID_IDEMPOTENCY_KEY.fullmatch(str((case.headers or {}).get("Idempotency-Key", ""))):
            # A valid generated key repeats across cases with other bodies, which the contract
            # answers with 422: each such case gets a key of its own (invalid keys stay, to
            # be refused; tests/integration/test_idempotency.py covers reuse).
            headers["Idempotency-Key"] = uuid.uuid4().hex
        response = case.call(headers=headers)
        STATUSES[str(response.status_code)] += 1
        checks = CHECKS
        if name in ("POST /api/ingest", "POST /api/payments/import"):
            # Any bytes are a valid `format: binary` file part; a part that is not a workbook
            # is refused at once (400), a rule the schema cannot state
            # (tests/integration/test_hostile_workbooks.py covers those).
            checks = [
                check
                for check in CHECKS
                if check not in (negative_data_rejection, positive_data_acceptance)
            ]
        if mode is GenerationMode.NEGATIVE and _lost_query_keys(case, response):
            # A generated key whose value has no query-string form (`[]`, `{}`) is not sent:
            # the request that reached the server is not the invalid one generated.
            checks = [check for check in checks if check is not negative_data_rejection]
        if name == "GET /api/portfolio":
            # A date the pattern allows may be no day of the calendar (2025-02-30): refused
            # (400), which no pattern can state.
            checks = [check for check in checks if check is not positive_data_acceptance]
        if name == "POST /api/close-day":
            # A date the schema allows may be today or later: refused (422), a rule of the
            # clock the schema cannot state.
            checks = [check for check in CHECKS if check is not positive_data_acceptance]
        case.validate_response(response, checks=checks, headers=headers)
        if operation.method.upper() == "GET":
            # HEAD is GET without the body, on every GET route (not in the document).
            head = case.call(headers=headers, method="HEAD")
            HEADS[f"HEAD {operation.path}"] += 1
            assert head.status_code == response.status_code, (head.status_code, case.path)
            assert head.content == b""

    run()


def _database(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["fuzz_app"])


def test_every_operation_survives_fuzzing(
    api_schema: schemathesis.BaseSchema, fuzz_app: Litestar, request: pytest.FixtureRequest
) -> None:
    """Each operation, positive and negative data; a failure is reported with its case."""
    CASES.clear()
    HEADS.clear()
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
        "head_cases": sum(HEADS.values()),
        "statuses": dict(sorted(STATUSES.items())),
    }
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"fuzz-{_database(request)}.json").write_text(json.dumps(figures, indent=2))
    print(f"\nfuzzed {figures['cases']} cases over {len(operations)} operations")
    assert not failures, "\n\n".join(failures)
    names = {f"{op.method.upper()} {op.path}" for op in operations}
    assert set(CASES) == names, f"operations never fuzzed: {names - set(CASES)}"
    assert any(path.startswith("/api/") for path in (op.path for op in operations))
    gets = {op.path for op in operations if op.method.upper() == "GET"}
    assert {name.split(" ", 1)[1] for name in HEADS} == gets
    # Every request gave back its pooled connection (a HEAD used to keep its own).
    assert pool_of(fuzz_app).checkedout() == 0


POST_PAYMENT = "POST /api/make-payment/{customer_id}/{loan_id}"
# `--checks all`, written as configuration so that the multipart upload exemption above can
# apply to one operation (a `--checks` flag would override it).
CLI_CONFIG = "\n".join(
    [
        "[checks]",
        *(f"{check.__name__}.enabled = true" for check in CHECKS),
        "",
        *(
            line
            for operation in ("POST /api/ingest", "POST /api/payments/import")
            for line in (
                "",
                "[[operations]]",
                f'include-name = "{operation}"',
                "checks.negative_data_rejection.enabled = false",
                "checks.positive_data_acceptance.enabled = false",
            )
        ),
        # Valid by the schema, refused by a rule the schema cannot state: a key reused with
        # another body, a `paid_on` after today or before the loan's start, an amount under
        # the interest or over the payoff, a close of today or later (the contract's 422s), a
        # phone number another customer holds (409).
        *(
            line
            for operation in (
                "POST /api/create-loan",
                POST_PAYMENT,
                "POST /api/register",
                "PATCH /api/customers/{customer_id}",
                "POST /api/reverse-payment/{customer_id}/{loan_id}/{payment_id}",
                "POST /api/close-day",
            )
            for line in (
                "",
                "[[operations]]",
                f'include-name = "{operation}"',
                'checks.positive_data_acceptance.expected-statuses = ["2XX", "401", "403", '
                '"404", "409", "422", "429"]',
            )
        ),
        # A date the pattern allows may be no day of the calendar (2025-02-30): 400.
        "",
        "[[operations]]",
        'include-name = "GET /api/portfolio"',
        'checks.positive_data_acceptance.expected-statuses = ["2XX", "400", "401", "403", '
        '"404", "429"]',
    ]
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_schemathesis_run_passes_every_phase_and_check(
    fuzz_app: Litestar, api_schema: schemathesis.BaseSchema, tmp_path: Path
) -> None:
    """`schemathesis run --checks all` against the service over HTTP: examples, coverage,
    fuzzing and the stateful phase, which chains operations through the document's links
    (register -> profile, book -> view)."""
    app = create_app(fuzz_app.state.settings, clock=FixedClock(TODAY))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    config = tmp_path / "schemathesis.toml"
    config.write_text(CLI_CONFIG)
    try:
        while not server.started:
            assert thread.is_alive(), "the service did not start"
            threading.Event().wait(0.1)
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(config),
                "run",
                f"http://127.0.0.1:{port}/schema/openapi.json",
                "--header",
                f"X-API-Key: {API_KEY['write']}",
                "--max-examples",
                str(CLI_EXAMPLES),
                "--seed",
                "1",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        checked_out = pool_of(app).checkedout()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    report = result.stdout[result.stdout.find("Schemathesis v") :]
    assert checked_out == 0, f"{checked_out} pooled connections still out after the run"
    print(report)
    assert result.returncode == 0, report
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in report, phase
    links = re.search(r"API Links:\s+(\d+) covered", report)
    assert links is not None
    assert int(links.group(1)) >= 3, report  # the stateful phase really chained calls
