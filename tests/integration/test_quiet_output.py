"""Quiet, useful output (issue 23): web log lines without the job worker's fields, no raw
`color_message`, and `credit info` showing the service's own settings with secrets hidden.
(`credit ingest`'s quiet output: tests/integration/test_operator_traps.py.)"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace

import pytest
from click.testing import CliRunner
from litestar.config.app import AppConfig
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.cli import credit
from credit.plugins.logs import logging_plugin
from credit.settings import Settings


async def test_web_log_lines_carry_no_worker_fields(
    settings: Settings, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with_queue = replace(settings, redis_url=redis_url, queue_name="credit-quiet-test")
    capsys.readouterr()
    async with AsyncTestClient(app=create_app(with_queue)) as client:
        assert (await client.get("/api/customers")).status_code == 200
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any('"logger":"credit.startup"' in line for line in lines)
    assert any('"event":"request"' in line for line in lines)
    for line in lines:
        assert "worker_id" not in line, line
        assert '"queue_name"' not in line, line


@pytest.fixture
def own_logging() -> Iterator[None]:
    """The process's logging as it was, once the test has configured the app's."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_uvicorn_color_message_is_not_printed(
    own_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logging_plugin(Settings()).on_app_init(AppConfig())
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on %s", "http://127.0.0.1:8000", extra={"color_message": "\x1b[1m%s"}
    )
    out = capsys.readouterr().out
    assert "Uvicorn running on http://127.0.0.1:8000" in out
    assert "color_message" not in out
    assert "\x1b[" not in out


def test_credit_info_shows_the_services_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://credit:db-secret@db:5432/credit")
    monkeypatch.setenv("REDIS_URL", "redis://:redis-secret@cache:6379/0")
    monkeypatch.setenv("AUTH_REQUIRED", "true")
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "50")
    monkeypatch.setenv("CREDIT_TODAY", "2026-03-01")
    result = CliRunner().invoke(credit, ["info"], prog_name="credit")
    assert result.exit_code == 0, result.output
    shown = dict(
        (part.strip() for part in line.split("  ", 1)) for line in result.output.splitlines()
    )
    assert shown["database"] == "postgresql+asyncpg://credit:***@db:5432/credit"
    assert "redis://:***@cache:6379/0" in shown["jobs"]
    assert shown["API keys"] == "required (AUTH_REQUIRED=true)"
    assert shown["rate limit per key"] == "50/s after a burst of 1000"
    assert shown["today"] == "2026-03-01 (pinned by CREDIT_TODAY)"
    assert "secret" not in result.output
