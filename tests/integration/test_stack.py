"""The production stack, run the way docker-compose.yml runs it, as local processes.

The `migrate`, `web` and `worker` commands are read from docker-compose.yml itself and run
against the test session's PostgreSQL (a fresh database, dropped afterwards) and Redis (a queue
name of its own, its keys deleted afterwards). The committed sample book goes in through
`credit ingest`, which hands the job to the worker over Redis; the contract endpoints are
called over real HTTP; then every process gets SIGTERM and must exit cleanly.

Every wait is bounded; a process that dies early fails the test with its own output.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
import redis
import yaml

from tests.conftest import _admin, _sqlalchemy_url
from tests.integration.private_services import free_port, postgres_bin_dir, wait_for_first_sweep

# One xdist worker runs these and the other test that counts API-key requests in the shared
# Redis: key ids restart in every database, so two such tests at once would count each other.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.xdist_group("redis-rate-limit")]

# API keys (`credit keys`, the access module) are used as compose would once the module exists.
API_KEYS_EXIST = importlib.util.find_spec("credit.modules.access") is not None

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MIGRATE_TIMEOUT_S = 120
READY_TIMEOUT_S = 90
INGEST_TIMEOUT_S = 300
STOP_TIMEOUT_S = 45
# The committed synthetic book (the same format and quirks as the lender's files).
BOOK = ROOT / "data"
CUSTOMER_ROWS = pl.read_excel(BOOK / "customer_data.xlsx", engine="calamine").height
LOAN_ROWS = pl.read_excel(BOOK / "loan_data.xlsx", engine="calamine").height
PSQL = shutil.which("psql") or str(postgres_bin_dir() / "psql")
# A phone number and an income that must never reach a log line.
PHONE = 9012345678
INCOME = 87654

# Environment variables of the developer's shell that would change what the stack does.
_INHERITED_NOISE = (
    "DATABASE_URL",
    "REDIS_URL",
    "QUEUE_NAME",
    "UPLOAD_DIR",
    "PROMETHEUS_MULTIPROC_DIR",
    "WORKER_METRICS_PORT",
    "WEB_CONCURRENCY",
    "LITESTAR_APP",
    "CREDIT_TODAY",
    "SAMPLE_DATA_DIR",
    "DEBUG",
    "AUTH_REQUIRED",
)


def compose_command(service: str) -> list[str]:
    """The service's `command` from docker-compose.yml, run from this virtualenv."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = [str(part) for part in compose["services"][service]["command"]]
    return [str(BIN / command[0]), *command[1:]]


def with_option(command: list[str], option: str, value: str) -> list[str]:
    index = command.index(option)
    return [*command[: index + 1], value, *command[index + 2 :]]


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def describe(self) -> str:
        tail = "\n".join(self.output().splitlines()[-60:])
        return f"{self.name} (exit {self.process.poll()}):\n{tail}"


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    database_url: str
    queue: str
    libpq_dsn: str
    services: list[Service] = field(default_factory=list)

    def run(
        self, name: str, command: list[str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            command,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        (self.logs / f"{name}.out").write_text(result.stdout + result.stderr)
        assert result.returncode == 0, (
            f"{name} exited {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def start(self, name: str, command: list[str], **extra_env: str) -> Service:
        stdout, stderr = self.logs / f"{name}.stdout", self.logs / f"{name}.stderr"
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**self.env, **extra_env},
            stdout=stdout.open("wb"),
            stderr=stderr.open("wb"),
            start_new_session=True,  # its own process group, so cleanup can reach its children
        )
        service = Service(name, process, stdout, stderr)
        self.services.append(service)
        return service

    def assert_running(self) -> None:
        for service in self.services:
            assert service.process.poll() is None, f"died early: {service.describe()}"

    def stop(self, service: Service) -> int:
        """SIGTERM to the main process only, as `docker stop` does; wait for it to exit."""
        service.process.send_signal(signal.SIGTERM)
        try:
            return service.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{service.name} ignored SIGTERM for {STOP_TIMEOUT_S}s")

    def kill_all(self) -> None:
        for service in self.services:
            if service.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait(timeout=10)


@pytest.fixture
async def stack_database(pg_admin_dsn: str) -> AsyncIterator[str]:
    name = f"credit_stack_{uuid.uuid4().hex[:10]}"
    await _admin(pg_admin_dsn, f'CREATE DATABASE "{name}"')
    yield pg_admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    await _admin(pg_admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def stack(stack_database: str, redis_url: str, tmp_path: Path) -> Iterator[Stack]:
    queue = f"credit-stack-{uuid.uuid4().hex[:10]}"
    logs = tmp_path / "logs"
    logs.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in _INHERITED_NOISE}
    env.update(
        DATABASE_URL=_sqlalchemy_url(stack_database),
        REDIS_URL=redis_url,
        QUEUE_NAME=queue,
        UPLOAD_DIR=str(tmp_path / "uploads"),
        AUTH_REQUIRED="true",
        LOG_LEVEL="INFO",
        DEBUG="false",
        # No terminal: Litestar's and rich's pretty output would be the wrong thing to test.
        TERM="dumb",
        COLUMNS="200",
    )
    running = Stack(
        env=env,
        logs=logs,
        database_url=_sqlalchemy_url(stack_database),
        queue=queue,
        libpq_dsn=stack_database,
    )
    try:
        yield running
    finally:
        running.kill_all()
        client = redis.Redis.from_url(redis_url)
        try:
            keys = list(client.scan_iter(match=f"*{queue}*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def wait_for(
    what: str, check: Callable[[], bool], stack: Stack, timeout: float = READY_TIMEOUT_S
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.assert_running()
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    details = "\n\n".join(service.describe() for service in stack.services)
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{details}")


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        head, value = line.rsplit(" ", 1)
        if all(f'{key}="{wanted}"' in head for key, wanted in labels.items()):
            total += float(value)
    return total


def json_lines(text: str) -> list[dict[str, Any]]:
    """The log lines of a process's stdout (the CLI's start-up banner is not one)."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_compose_stack_serves_the_contract_and_stops_cleanly(stack: Stack) -> None:
    # --- migrate: the one-shot step, on a fresh database; running it again changes nothing.
    migrate = compose_command("migrate")
    stack.run("migrate", migrate, MIGRATE_TIMEOUT_S)
    stack.run("migrate-again", migrate, MIGRATE_TIMEOUT_S)

    # --- an API key, as an operator makes one (AUTH_REQUIRED=true, as in compose).
    auth: dict[str, str] = {}
    if API_KEYS_EXIST:
        created = stack.run(
            "keys", [str(BIN / "credit"), "keys", "create", "stack-test", "--scope", "write"], 90
        )
        auth = {"X-API-Key": created.stdout.strip().splitlines()[-1].strip()}
    else:
        stack.env["AUTH_REQUIRED"] = "false"

    # --- web (two uvicorn processes sharing metrics) and worker, on free ports.
    web_port, worker_metrics_port = free_port(), free_port()
    web_command = with_option(
        with_option(compose_command("web"), "--port", str(web_port)), "--host", "127.0.0.1"
    )
    prometheus_dir = stack.logs.parent / "prometheus"
    web = stack.start(
        "web",
        web_command,
        WEB_CONCURRENCY="2",
        PROMETHEUS_MULTIPROC_DIR=str(prometheus_dir),
    )
    worker = stack.start(
        "worker", compose_command("worker"), WORKER_METRICS_PORT=str(worker_metrics_port)
    )
    wait_for_first_sweep(worker.process, stack.env["REDIS_URL"], stack.queue)
    base = f"http://127.0.0.1:{web_port}"

    with httpx.Client(base_url=base, timeout=15) as http:
        wait_for("/ready", lambda: http.get("/ready").status_code == 200, stack)
        ready = http.get("/ready").json()
        assert ready["checks"] == {"database": "ok", "schema": "ok", "redis": "ok"}
        assert http.get("/health").json() == {"status": "ok"}

        # --- ingest the sample book: the command enqueues, the worker does the work.
        ingest = stack.run(
            "ingest",
            [
                str(BIN / "credit"),
                "ingest",
                str(BOOK / "customer_data.xlsx"),
                str(BOOK / "loan_data.xlsx"),
            ],
            INGEST_TIMEOUT_S,
        )
        assert f"customers: {CUSTOMER_ROWS} rows" in ingest.stdout, ingest.stdout
        assert f"loans: {LOAN_ROWS} rows" in ingest.stdout, ingest.stdout
        finished = [
            line
            for line in json_lines(worker.stdout.read_text())
            if line.get("event") == "job finished" and line.get("job") == "ingest_book"
        ]
        assert len(finished) == 1, "the worker did not run the job once\n" + worker.describe()
        assert finished[0]["status"] == "complete"
        assert finished[0]["counts"]["loans_rows"] == LOAN_ROWS
        assert "ingest_book" not in web.stdout.read_text(), "the web process ran the job itself"
        # The worker's exporter (compose's worker health check) counts the job.
        worker_metrics = httpx.get(f"http://127.0.0.1:{worker_metrics_port}/metrics").text
        assert (
            metric(worker_metrics, "credit_jobs_total", job="ingest_book", status="complete") == 1
        )
        assert metric(worker_metrics, "credit_job_duration_seconds_count", job="ingest_book") == 1

        # --- the contract over real HTTP.
        if API_KEYS_EXIST:
            assert http.post("/api/register", json={}).status_code == 401  # no key, no entry

        registered = http.post(
            "/api/register",
            headers={**auth, "X-Request-ID": "stack-register-1"},
            json={
                "first_name": "Stack",
                "last_name": "Test",
                "age": 30,
                "monthly_income": INCOME,
                "phone_number": PHONE,
            },
        )
        assert registered.status_code == 201, registered.text
        assert registered.headers["x-request-id"] == "stack-register-1"
        customer = registered.json()
        assert customer["customer_id"] > CUSTOMER_ROWS  # above every ingested id
        assert customer["approved_limit"] == 3_200_000  # 36 x 87,654 = 3,155,544 -> 32 lakh

        duplicate = http.post(
            "/api/register/",
            headers=auth,
            json={
                "first_name": "Other",
                "last_name": "Person",
                "age": 40,
                "monthly_income": 10_000,
                "phone_number": PHONE,
            },
        )
        assert duplicate.status_code == 409, duplicate.text

        profile = http.get(f"/api/customers/{customer['customer_id']}", headers=auth)
        assert profile.status_code == 200, profile.text
        assert profile.json()["current_debt"] == 0

        # Customer 1 of the book, with whatever history the file gives them.
        request = {"customer_id": 1, "loan_amount": 100_000, "interest_rate": 14, "tenure": 12}
        eligibility = http.post("/api/check-eligibility", headers=auth, json=request)
        assert eligibility.status_code == 200, eligibility.text
        decision = eligibility.json()
        assert {
            "customer_id",
            "approval",
            "interest_rate",
            "corrected_interest_rate",
            "tenure",
            "monthly_installment",
        } <= decision.keys()
        assert decision["customer_id"] == 1

        current = http.get("/api/view-loans/1", headers=auth)
        assert current.status_code == 200, current.text
        for loan in current.json():
            assert loan["repayments_left"] > 0
            viewed = http.get(f"/api/view-loan/{loan['loan_id']}", headers=auth)
            assert viewed.status_code == 200, viewed.text
            assert viewed.json()["customer"]["id"] == 1

        booked = http.post(
            "/api/create-loan",
            headers=auth,
            json={**request, "customer_id": customer["customer_id"], "interest_rate": 16},
        )
        assert booked.status_code in (200, 201), booked.text
        if booked.status_code == 201:
            loan_id = booked.json()["loan_id"]
            assert http.get(f"/api/view-loan/{loan_id}/", headers=auth).status_code == 200
            mine = http.get(f"/api/view-loans/{customer['customer_id']}", headers=auth).json()
            assert [loan["loan_id"] for loan in mine] == [loan_id]
        assert http.get("/api/view-loan/999999999", headers=auth).status_code == 404
        assert http.get("/api/customers/999999999", headers=auth).status_code == 404

        # --- metrics: the two uvicorn processes are added up, per route template.
        for _ in range(20):
            with httpx.Client(base_url=base, timeout=15) as fresh:  # new connection each
                assert fresh.get("/health").status_code == 200
        scraped = http.get("/metrics").text
        health = metric(scraped, "credit_http_requests_total", path="/health", status_code="200")
        assert health == 21, "the other uvicorn process's requests are missing from /metrics"
        assert (
            metric(scraped, "credit_http_requests_total", path="/api/customers/{customer_id}") >= 2
        )
        assert '/api/customers/1"' not in scraped

    # --- logs: JSON lines only, one per request with its id, and no personal data anywhere.
    web_lines = json_lines(web.stdout.read_text())
    register_lines = [line for line in web_lines if line.get("request_id") == "stack-register-1"]
    access = [line for line in register_lines if line.get("event") == "request"]
    assert len(access) == 1, register_lines
    assert access[0]["method"] == "POST"
    assert access[0]["path"] == "/api/register"
    assert access[0]["status"] == 201
    assert access[0]["duration_ms"] >= 0
    everything = "\n".join(service.output() for service in stack.services)
    for secret in (str(PHONE), str(INCOME), *auth.values()):
        assert secret not in everything, f"{secret} leaked into the logs"

    # --- SIGTERM: both stop on their own, cleanly, well inside compose's grace periods.
    for service in (web, worker):
        code = stack.stop(service)
        assert code == 0, f"{service.name} exited {code} on SIGTERM\n{service.describe()}"
        output = service.output()
        assert "Traceback" not in output, service.describe()
        assert not re.search(r"\bERROR\b|\"level\": \"(error|critical)\"", output), (
            service.describe()
        )


PAUSE_LOCK = 4242
PAUSE_TRIGGER = f"""
CREATE FUNCTION stack_test_pause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared({PAUSE_LOCK});
    RETURN NULL;
END $$;
CREATE TRIGGER stack_test_pause BEFORE INSERT ON loans
    FOR EACH STATEMENT EXECUTE FUNCTION stack_test_pause();
"""


def sql(stack: Stack, query: str) -> str:
    result = subprocess.run(
        [PSQL, stack.libpq_dsn, "-v", "ON_ERROR_STOP=1", "-qAtc", query],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_worker_stopped_mid_ingestion_loses_and_duplicates_nothing(stack: Stack) -> None:
    """SIGTERM while the job holds written-but-uncommitted customers: the transaction rolls
    back, the job goes back on the queue, the next worker completes it, and the book holds
    each row exactly once."""
    stack.run("migrate", compose_command("migrate"), MIGRATE_TIMEOUT_S)
    # Test scaffolding in this throwaway database: inserting loans waits while the test holds
    # an advisory lock, so the job can be caught after its customers are written.
    sql(stack, PAUSE_TRIGGER)
    holder = stack.start(
        "lock-holder",
        [PSQL, stack.libpq_dsn, "-qc", f"SELECT pg_advisory_lock({PAUSE_LOCK}), pg_sleep(600)"],
    )
    held = f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {PAUSE_LOCK}"
    wait_for("the pause lock", lambda: sql(stack, held) == "1", stack)

    worker = stack.start("worker", compose_command("worker"))
    wait_for_first_sweep(worker.process, stack.env["REDIS_URL"], stack.queue)
    follower = stack.start(
        "ingest",
        [
            str(BIN / "credit"),
            "ingest",
            str(BOOK / "customer_data.xlsx"),
            str(BOOK / "loan_data.xlsx"),
        ],
    )
    paused = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
    )
    wait_for("the job to reach the loans", lambda: sql(stack, paused) == "1", stack, 240)
    assert sql(stack, "SELECT count(*) FROM customers") == "0"  # written, not committed

    code = stack.stop(worker)
    assert code == 0, f"worker exited {code} on SIGTERM\n{worker.describe()}"
    assert "Traceback" not in worker.stderr.read_text(), worker.describe()
    assert sql(stack, paused) == "0", "the cancelled job's statement is still waiting"
    assert sql(stack, "SELECT count(*) FROM customers") == "0"
    assert sql(stack, "SELECT count(*) FROM loans") == "0"
    assert follower.process.poll() is None, f"the follower gave up\n{follower.describe()}"

    # Release the lock: end the holder's backend (a killed psql leaves it in pg_sleep).
    sql(
        stack,
        "SELECT pg_terminate_backend(pid) FROM pg_locks "
        f"WHERE locktype = 'advisory' AND objid = {PAUSE_LOCK} AND granted",
    )
    holder.process.wait(timeout=STOP_TIMEOUT_S)
    stack.services.remove(holder)

    replacement = stack.start("worker-2", compose_command("worker"))
    try:
        code = follower.process.wait(timeout=INGEST_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the retried job never finished\n{replacement.describe()}")
    report = follower.stdout.read_text()
    assert code == 0, follower.describe()
    assert f"customers: {CUSTOMER_ROWS} rows, {CUSTOMER_ROWS} inserted" in report, report
    assert f"loans: {LOAN_ROWS} rows, {LOAN_ROWS} inserted" in report, report
    assert sql(stack, "SELECT count(*) FROM customers") == str(CUSTOMER_ROWS)
    assert sql(stack, "SELECT count(*) FROM loans") == str(LOAN_ROWS)
    assert sql(stack, "SELECT count(DISTINCT phone_number) FROM customers") == str(CUSTOMER_ROWS)

    retried = [
        line
        for line in json_lines(worker.stdout.read_text())
        if line.get("event") == "job finished"
    ]
    assert [line["status"] for line in retried] == ["retried"], worker.describe()
    assert stack.stop(replacement) == 0, replacement.describe()
