"""The PostgreSQL and Redis a test session runs against.

The configured addresses (`TEST_POSTGRES_DSN`, `TEST_REDIS_URL`; by default the machine's
127.0.0.1:5432 and :6379) are used when something answers there. Otherwise, outside CI, the
session starts a private server of its own from the packaged binaries (on a free port, once,
in the process that runs the session) and stops it at the end; pytest-xdist workers are handed
the addresses. Under `CI=true` the configured servers are required: nothing answering fails
the tests that need them, so CI always tests the machine's own services.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.integration.private_services import PrivatePostgres, PrivateRedis

DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@dataclass
class Service:
    """Where one server is, or why there is none."""

    name: str
    address: str | None
    problem: str | None = None
    started: Any = None  # the private server this session started, if any

    def as_dict(self) -> dict[str, str | None]:
        return {"address": self.address, "problem": self.problem}


@dataclass
class Services:
    postgres: Service
    redis: Service
    _scratch: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, dict[str, str | None]]:
        return {"postgres": self.postgres.as_dict(), "redis": self.redis.as_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, str | None]]) -> Services:
        return cls(
            Service("PostgreSQL", data["postgres"]["address"], data["postgres"]["problem"]),
            Service("Redis", data["redis"]["address"], data["redis"]["problem"]),
        )

    def stop(self) -> None:
        if isinstance(self.postgres.started, PrivatePostgres):
            self.postgres.started.remove()
        if isinstance(self.redis.started, PrivateRedis):
            self.redis.started.stop()
        for folder in self._scratch:
            shutil.rmtree(folder, ignore_errors=True)


def answers(url: str, default_port: int) -> bool:
    """Whether anything accepts a TCP connection at the URL's host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def provide() -> Services:
    """Find the configured servers, or start private ones where nothing answers."""
    scratch: list[Path] = []
    postgres = _postgres(os.environ.get("TEST_POSTGRES_DSN", DEFAULT_POSTGRES_DSN))
    redis = _redis(os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL), scratch)
    return Services(postgres, redis, scratch)


def _postgres(dsn: str) -> Service:
    if answers(dsn, 5432):
        return Service("PostgreSQL", dsn)
    if in_ci():
        return Service("PostgreSQL", None, f"nothing answers at {dsn} (TEST_POSTGRES_DSN)")
    try:
        server = PrivatePostgres()
        server.start()
    except Exception as exc:  # any reason at all: say it and run without
        return Service(
            "PostgreSQL",
            None,
            f"nothing answers at {dsn} and no packaged server could be started ({exc})",
        )
    return Service("PostgreSQL", server.admin_dsn, started=server)


def _redis(url: str, scratch: list[Path]) -> Service:
    if answers(url, 6379):
        return Service("Redis", url)
    if in_ci():
        return Service("Redis", None, f"nothing answers at {url} (TEST_REDIS_URL)")
    folder = Path(tempfile.mkdtemp(prefix="credit-test-redis-"))
    scratch.append(folder)
    try:
        server = PrivateRedis(folder)
        server.start()
    except Exception as exc:  # any reason at all: say it and run without
        return Service(
            "Redis",
            None,
            f"nothing answers at {url} and no packaged server could be started ({exc})",
        )
    return Service("Redis", server.url, started=server)


_current: Services | None = None


def install(services: Services) -> None:
    global _current
    _current = services


def current() -> Services:
    if _current is None:  # pragma: no cover - pytest_configure always installs them
        raise RuntimeError("the test services were not set up")
    return _current
