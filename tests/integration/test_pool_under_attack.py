"""No request holds a pooled connection it does not need, against the real server (uvicorn).

With keys required and a read key in hand, an attacker sends ten times the pool's size of
HEADs, then holds twice the pool's size of connections that send a request head and a few
bytes of its body, and stop. Another client is then served (not a 503 after the pool's
10-second timeout): HEAD returns its session's connection (test_hostile_requests.py), and the
key is looked up on a connection held only for the lookup, not on the request's session
while its body is still coming. The slow bodies get 408 once `REQUEST_READ_TIMEOUT_SECONDS`
has passed. On SQLite and PostgreSQL (pool of 2 there; SQLite's pool holds 5 + 10).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from credit.settings import Settings
from tests.conftest import in_own_loop
from tests.integration.figures import record
from tests.integration.private_services import free_port
from tests.integration.test_access import _delete_keys, _issue

UVICORN = [sys.executable, "-m", "uvicorn", "--factory", "credit.app:create_app"]
PG_POOL = 2
SQLITE_POOL = 5 + 10  # SQLAlchemy's queue pool for aiosqlite: pool_size 5, max_overflow 10
READ_TIMEOUT_S = 3


@pytest.fixture
def served(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """(base URL, a read key, the pool's size) of uvicorn serving the test database."""
    _, key = in_own_loop(_issue(settings.database_url, "attacker", "read"))
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": settings.database_url,
        "DATABASE_POOL_SIZE": str(PG_POOL),
        "AUTH_REQUIRED": "true",
        "RATE_LIMIT_PER_SECOND": "0",
        "REQUEST_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT_S),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "SAMPLE_DATA_DIR": "",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [*UVICORN, "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.2)
        yield base, key, SQLITE_POOL if settings.is_embedded else PG_POOL
    finally:
        process.terminate()
        process.wait(timeout=30)
        in_own_loop(_delete_keys(settings.database_url))


def _slow_body(port: int, key: str) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=15)
    conn.sendall(
        b"POST /api/check-eligibility HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-API-Key: " + key.encode() + b"\r\nContent-Length: 200\r\n\r\n"
        b'{"customer_id": 1,'  # and nothing more
    )
    return conn


def test_heads_and_slow_bodies_leave_other_clients_served(
    served: tuple[str, str, int],
) -> None:
    base, key, pool = served
    port = int(base.rsplit(":", 1)[1])
    headers = {"X-API-Key": key}
    # A client that waits 5 s is served well before a drained pool would answer (10 s).
    with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
        for _ in range(10 * pool):
            assert client.head("/api/view-loans/1").status_code == 404
        slow = [_slow_body(port, key) for _ in range(2 * pool)]
        try:
            time.sleep(0.5)  # every slow request is past its key lookup, waiting for its body
            for _ in range(3):
                answer = client.get("/api/view-loans/1")
                assert answer.status_code == 404, answer.text
                eligibility = client.post(
                    "/api/check-eligibility",
                    json={"customer_id": 1, "loan_amount": 1e5, "interest_rate": 12, "tenure": 12},
                )
                assert eligibility.status_code == 404, eligibility.text
            # The slow bodies are cut off once their time to arrive has passed.
            for conn in slow:
                assert conn.recv(200).startswith(b"HTTP/1.1 408"), "no 408"
            record(
                f"pool-under-attack-{'sqlite' if pool == SQLITE_POOL else 'postgres'}",
                pool=pool,
                heads=10 * pool,
                slow_bodies=2 * pool,
                other_requests_served=6,
                slow_bodies_answered_408=len(slow),
                read_timeout_s=READ_TIMEOUT_S,
            )
        finally:
            for conn in slow:
                conn.close()
