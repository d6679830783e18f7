"""PostgreSQL and Redis servers a fault test starts, stops and restarts itself.

Each runs from a temporary folder on a free loopback port, so the machine's shared servers
(which the rest of the suite uses) are never touched. PostgreSQL refuses to run as root, so
under root (CI) its commands run as the `postgres` system user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

PG_BIN = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])


def wait_for_first_sweep(
    process: subprocess.Popen[bytes], redis_url: str, queue_name: str, timeout: float = 30
) -> None:
    """Wait until a just-started SAQ worker has run its start-up sweep of the queue.

    SAQ sweeps (aborts) every job in the queue's active list whose status is not `active`, and
    a job is in that list with status `queued` for a moment after a worker dequeues it: a job
    enqueued while the worker starts can be dequeued during that first sweep and then end
    `aborted` ("swept") although it ran. The sweep's lock key shows the sweep has read the
    list; the next one is a minute away, longer than these tests wait for a job."""
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    try:
        while not client.exists(f"saq:{queue_name}:sweep"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start (exit code {process.poll()})")
            time.sleep(0.05)
    finally:
        client.close()


def stop_worker(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, as compose stops a worker; kill it only if it is still running after
    `timeout` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:  # pragma: no cover - a stuck worker
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PrivatePostgres:
    def __init__(self) -> None:
        # Not under pytest's tmp_path: that is private to root, and the server runs as postgres.
        self.root = Path(tempfile.mkdtemp(prefix="credit-fault-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"],
            timeout=120,
        )

    def _run(self, command: list[str], timeout: float) -> None:
        subprocess.run(
            _as_postgres(command), check=True, capture_output=True, timeout=timeout, cwd=self.root
        )

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            timeout=90,
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], timeout=90
        )

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("fast")  # unless a test already stopped it
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=20)
            self.process = None
