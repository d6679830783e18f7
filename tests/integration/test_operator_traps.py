"""An operator's first day (issue 23): one `.env` rule, `credit ingest` saying where it
writes, refusing to merge into the synthetic sample, never waiting silently for a worker,
and every operator command refusing a database behind its migrations."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from sqlalchemy.engine.url import make_url

from credit.app import create_app
from credit.cli import credit
from credit.db.migrations import upgrade_database
from credit.settings import PROJECT_ROOT, Settings
from tests.conftest import _admin, _sqlalchemy_url, empty_tables, in_own_loop
from tests.ingest_workbooks import SAMPLE_BOOK, small_book
from tests.integration.book import count_rows

SAMPLE = PROJECT_ROOT / "data"
CREDIT = Path(sys.executable).with_name("credit")


def run_credit(*arguments: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`credit ARGUMENTS` as an operator runs it, in `cwd`, with exactly `env` (and PATH)."""
    return subprocess.run(
        [str(CREDIT), *arguments],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_every_command_reads_the_dotenv_of_the_current_directory(tmp_path: Path) -> None:
    folder = tmp_path / "operator"
    folder.mkdir()
    in_dotenv = folder / "from-dotenv.sqlite3"
    (folder / ".env").write_text(
        f"DATABASE_URL=sqlite+aiosqlite:///{in_dotenv}\nSAMPLE_DATA_DIR=\nREDIS_URL=\n"
    )
    listed = run_credit("keys", "list", cwd=folder, env={})
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert in_dotenv.exists()  # Litestar's command: the .env's database
    books = [str(SAMPLE_BOOK.customers), str(SAMPLE_BOOK.loans)]
    loaded = run_credit("ingest", *books, cwd=folder, env={})
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert loaded.stdout.splitlines()[0] == f"ingesting into sqlite+aiosqlite:///{in_dotenv}"
    assert in_own_loop(count_rows(f"sqlite+aiosqlite:///{in_dotenv}"))[0] == 200
    # The environment wins over the file.
    elsewhere = tmp_path / "from-environment.sqlite3"
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{elsewhere}"}
    loaded = run_credit("ingest", *books, cwd=folder, env=env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert loaded.stdout.splitlines()[0] == f"ingesting into sqlite+aiosqlite:///{elsewhere}"
    assert ".env" in (PROJECT_ROOT / ".gitignore").read_text().splitlines()


@pytest.fixture
def bare_postgres(pg_admin_dsn: str) -> Iterator[str]:
    """A PostgreSQL database of its own with no migrations, dropped afterwards."""
    name = f"credit_bare_{uuid.uuid4().hex[:10]}"
    in_own_loop(_admin(pg_admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        yield _sqlalchemy_url(pg_admin_dsn.rsplit("/", 1)[0] + f"/{name}")
    finally:
        in_own_loop(_admin(pg_admin_dsn, f'DROP DATABASE "{name}" WITH (FORCE)'))


def test_operator_commands_refuse_a_database_behind_its_migrations(
    bare_postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAMPLE_DATA_DIR", "")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with_password = make_url(bare_postgres).set(password="s3cret-pw")
    monkeypatch.setenv("DATABASE_URL", with_password.render_as_string(hide_password=False))
    books = [str(SAMPLE_BOOK.customers), str(SAMPLE_BOOK.loans)]
    collections = tmp_path / "collections.csv"
    collections.write_text(
        "Reference,Customer ID,Loan ID,Amount,Paid On\nR1,1,1,100.00,2025-01-02\n"
    )
    for arguments in (
        ["ingest", *books],
        ["keys", "list"],
        ["keys", "create", "ops"],
        ["payments", "import", str(collections)],
        ["close-day"],
        ["portfolio"],
    ):
        result = CliRunner().invoke(credit, arguments, prog_name="credit")
        said = words(result.output)
        assert result.exit_code == 1, (arguments, result.output)
        assert "the schema is not migrated" in said, arguments
        assert "run `credit database upgrade`" in said, arguments
        assert "Traceback" not in said
        assert "s3cret-pw" not in said
    ingest = CliRunner().invoke(credit, ["ingest", *books], prog_name="credit")
    first = ingest.output.splitlines()[0]
    assert first.startswith("ingesting into postgresql+asyncpg://postgres:***@"), first
    # Behind: migrated to the revision before the head.
    upgrade_database(Settings(database_url=bare_postgres), revision="0008_decisions")
    for arguments in (["ingest", *books], ["close-day"], ["payments", "import", str(collections)]):
        result = CliRunner().invoke(credit, arguments, prog_name="credit")
        assert result.exit_code == 1, arguments
        assert "behind the migrations' head" in words(result.output), arguments
        assert "credit database upgrade" in words(result.output), arguments


def words(output: str) -> str:
    """The output's words, without the frame and line breaks a terminal's error box adds."""
    return " ".join(re.sub("[\u2500-\u257f]", " ", output).split())


@pytest.fixture
def quick_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The embedded quick start: a first `credit run` loaded the synthetic sample."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'quick.sqlite3'}"
    settings = Settings(database_url=url, sample_data_dir=SAMPLE, upload_dir=tmp_path / "up")

    async def first_start() -> None:
        async with AsyncTestClient(app=create_app(settings)) as client:
            assert (await client.get("/api/customers/1")).status_code == 200

    in_own_loop(first_start())
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SAMPLE_DATA_DIR", "")
    monkeypatch.delenv("REDIS_URL", raising=False)
    return url


def test_ingest_refuses_to_merge_into_the_sample(quick_start: str, tmp_path: Path) -> None:
    customers, loans = (str(path) for path in small_book(tmp_path / "lender"))
    refused = CliRunner().invoke(credit, ["ingest", customers, loans], prog_name="credit")
    assert refused.exit_code == 1
    assert "synthetic sample" in words(refused.output)
    assert "--replace-sample" in words(refused.output)
    assert "--merge" in words(refused.output)
    assert in_own_loop(count_rows(quick_start)) == (200, 600)

    replaced = CliRunner().invoke(
        credit, ["ingest", customers, loans, "--replace-sample"], prog_name="credit"
    )
    assert replaced.exit_code == 0, replaced.output
    assert in_own_loop(count_rows(quick_start)) == (2, 2)
    again = CliRunner().invoke(credit, ["ingest", customers, loans], prog_name="credit")
    assert again.exit_code == 0, again.output  # the lender's book now: no refusal


def test_ingest_merges_into_the_sample_when_told(quick_start: str, tmp_path: Path) -> None:
    customers, loans = (str(path) for path in small_book(tmp_path / "lender"))
    merged = CliRunner().invoke(credit, ["ingest", customers, loans, "--merge"], prog_name="credit")
    assert merged.exit_code == 0, merged.output
    assert in_own_loop(count_rows(quick_start)) == (200, 602)
    again = CliRunner().invoke(credit, ["ingest", customers, loans], prog_name="credit")
    assert again.exit_code == 0, again.output


def test_ingest_with_no_worker_says_so_and_withdraws_the_job(
    postgres_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = f"credit-test-{uuid.uuid4().hex[:12]}"
    uploads = tmp_path / "uploads"
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("QUEUE_NAME", queue)
    monkeypatch.setenv("UPLOAD_DIR", str(uploads))
    monkeypatch.setenv("SAMPLE_DATA_DIR", "")
    books = [str(SAMPLE_BOOK.customers), str(SAMPLE_BOOK.loans)]
    try:
        result = CliRunner().invoke(
            credit, ["ingest", *books, "--worker-timeout", "6"], prog_name="credit"
        )
        loaded = in_own_loop(count_rows(postgres_url))
    finally:
        in_own_loop(empty_tables(postgres_url))
    assert result.exit_code == 1, result.output
    assert "no worker has taken the job" in result.output
    assert "credit workers run" in result.output
    assert "withdrawn" in result.output.splitlines()[-1]
    # Quiet: where it writes, the wait, the closing line; no enqueue or plugin log lines.
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("ingesting into postgresql+asyncpg://")
    assert len(lines) == 3, result.output
    assert loaded == (0, 0)
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(f"*{queue}*")) == []  # no job, no queue left behind
    finally:
        client.close()
    assert not uploads.exists() or list(uploads.iterdir()) == []


@pytest.mark.parametrize("command", ["close-day", "payments import"])
def test_the_lenders_day_commands_with_no_worker_say_so_and_withdraw_the_job(
    command: str, postgres_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = f"credit-test-{uuid.uuid4().hex[:12]}"
    uploads = tmp_path / "uploads"
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("QUEUE_NAME", queue)
    monkeypatch.setenv("UPLOAD_DIR", str(uploads))
    monkeypatch.setenv("SAMPLE_DATA_DIR", "")
    arguments = command.split()
    if command == "payments import":
        collections = tmp_path / "collections.csv"
        collections.write_text(
            "Reference,Customer ID,Loan ID,Amount,Paid On\nR1,1,1,100.00,2025-01-02\n"
        )
        arguments.append(str(collections))
    result = CliRunner().invoke(credit, [*arguments, "--worker-timeout", "6"], prog_name="credit")
    assert result.exit_code == 1, result.output
    said = words(result.output)
    assert "no worker has taken the job" in said
    assert "credit workers run" in said
    assert "withdrawn" in said
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(f"*{queue}*")) == []  # no job, no queue left behind
    finally:
        client.close()
    assert not uploads.exists() or [p for p in uploads.rglob("*") if p.is_file()] == []
