"""Slow clients against the real server (uvicorn, as the web container runs it).

A client that dribbles its request holds one socket and one small task, never a worker: while
20 such connections hang open, other requests are answered at once. A body announced larger
than the limit is refused with 413 as soon as the head arrives, before any of it is read.
(uvicorn itself never closes a half-sent request: docs/reliability.md says what bounds that.)
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

from tests.integration.private_services import free_port

SLOW_CONNECTIONS = 20
UVICORN = [sys.executable, "-m", "uvicorn", "--factory", "credit.app:create_app"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'slow.sqlite3'}",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [*UVICORN, "--port", str(port), "--timeout-keep-alive", "5", "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("uvicorn did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_slow_clients_do_not_hold_the_server(server: str) -> None:
    port = int(server.rsplit(":", 1)[1])
    slow = []
    for n in range(SLOW_CONNECTIONS):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        if n % 2:
            conn.sendall(b"GET /api/view-loans/1 HTTP/1.1\r\nHost: x\r\n")  # half a head
        else:
            conn.sendall(
                b"POST /api/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 500\r\n\r\n{"first_name": '  # half a body
            )
        slow.append(conn)
    try:
        with httpx.Client(base_url=server, timeout=5) as client:
            for _ in range(10):
                started = time.monotonic()
                assert client.get("/api/view-loans/1").status_code in (200, 404)
                assert client.get("/health").status_code == 200
                assert time.monotonic() - started < 2

        # A body announced over MAX_REQUEST_BODY_BYTES is refused before it is sent.
        big = socket.create_connection(("127.0.0.1", port), timeout=10)
        big.sendall(
            b"POST /api/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n"
        )
        started = time.monotonic()
        answer = big.recv(200)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert time.monotonic() - started < 5
        big.close()
    finally:
        for conn in slow:
            conn.close()
