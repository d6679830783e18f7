"""One settings object for the whole service, read from the environment.

Every field has an embedded default so `credit run` works on a fresh clone: SQLite in `var/`,
jobs in-process, the synthetic sample in `data/` loaded on first start. Those default paths
are the project's own (next to `migrations/`), whichever directory `credit` starts from, so
there is one embedded database (docs/decisions.md). The README lists every variable;
`Settings.from_env()` is the only place that reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from credit.lending.policy import CreditPolicy

# The checkout (or the image's /app): src/credit/settings.py is two levels below it.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
EMBEDDED_DATABASE_URL = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'credit.sqlite3'}"
SAMPLE_DATA_DIR = PROJECT_ROOT / "data"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "true" if default else "false").lower() in {"1", "true", "yes", "on"}


def _env_optional(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def _env_int_optional(name: str) -> int | None:
    value = _env_optional(name)
    return int(value) if value else None


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; see the README's configuration table."""

    database_url: str = EMBEDDED_DATABASE_URL
    database_pool_size: int = 10
    database_echo: bool = False
    redis_url: str | None = None
    upload_dir: Path = PROJECT_ROOT / "var" / "uploads"
    max_upload_bytes: int = 50 * 1024 * 1024
    # Access and limits (docs/reliability.md): API keys on /api, rate limits, body size.
    # Per key (per address while open): a burst, then a rate a second, far above what any
    # legitimate integration sends; `from_env` turns it off on the embedded quick start.
    auth_required: bool = False
    rate_limit_per_second: float = 500
    rate_limit_burst: int = 1000
    # Requests without a valid key, per client address (only with AUTH_REQUIRED).
    rate_limit_anonymous_per_second: float = 5
    rate_limit_anonymous_burst: int = 20
    max_request_body_bytes: int = 1024 * 1024
    # A request's body must have arrived this many seconds after its reading began (408).
    request_read_timeout_seconds: float = 30
    # What one workbook may make the Excel reader hold (credit.modules.ingest.workbook): its
    # parts inflated in total, and the cells of its first sheet's grid.
    max_workbook_inflated_bytes: int = 2 * 1024**3
    max_sheet_cells: int = 20_000_000
    sample_data_dir: Path | None = SAMPLE_DATA_DIR
    timezone: str = "Asia/Kolkata"
    today: date | None = None
    debug: bool = False
    policy: CreditPolicy = field(default_factory=CreditPolicy)
    # Jobs (ingestion): the SAQ queue on REDIS_URL and how many jobs a worker runs at once.
    queue_name: str = "credit"
    worker_concurrency: int = 2
    # A job runs at most this long; a job whose worker stops touching it for `heartbeat`
    # seconds (the worker died) is put back on the queue once, then failed (plugins/queue.py).
    job_timeout_seconds: int = 3600
    job_heartbeat_seconds: int = 60
    # Browser front ends on other origins that may call the API (CORS); none by default.
    cors_allowed_origins: tuple[str, ...] = ()
    # The lender's day (docs/decisions.md): the daily close of day runs on this cron schedule
    # in the lender's time zone (`timezone`), with Redis; shortly after midnight by default.
    close_day_cron: str = "15 0 * * *"
    # Operations (logs, metrics): see the README's "Run in production".
    log_level: str = "INFO"
    worker_metrics_port: int | None = None
    # The console (/console): the secret its session and CSRF cookies are sealed with (any
    # string; unset: one made up per process, so sign-ins end when it stops, docs/decisions.md),
    # how long a sign-in lasts, and whether its cookies are sent over HTTPS only.
    console_secret: str | None = None
    console_session_hours: float = 8
    console_secure_cookies: bool = False

    @property
    def is_embedded(self) -> bool:
        """True on the single-process SQLite default (migrations and sample data on start)."""
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls) -> Settings:
        default = cls()
        database_url = _env("DATABASE_URL", default.database_url)
        embedded = database_url.startswith("sqlite")
        # Unset: the project's sample on SQLite, none otherwise; set but empty: none.
        sample_dir = os.environ.get("SAMPLE_DATA_DIR")
        if sample_dir is None:
            sample_dir = str(SAMPLE_DATA_DIR) if embedded else ""
        today = _env_optional("CREDIT_TODAY")
        return cls(
            database_url=database_url,
            database_pool_size=int(_env("DATABASE_POOL_SIZE", str(default.database_pool_size))),
            database_echo=_env_bool("DATABASE_ECHO", default.database_echo),
            redis_url=_env_optional("REDIS_URL"),
            upload_dir=Path(_env("UPLOAD_DIR", str(default.upload_dir))),
            max_upload_bytes=int(_env("MAX_UPLOAD_BYTES", str(default.max_upload_bytes))),
            auth_required=_env_bool("AUTH_REQUIRED", default.auth_required),
            rate_limit_per_second=float(
                _env(
                    "RATE_LIMIT_PER_SECOND",
                    # One person's local service: nothing to protect it from.
                    "0" if embedded else str(default.rate_limit_per_second),
                )
            ),
            rate_limit_burst=int(_env("RATE_LIMIT_BURST", str(default.rate_limit_burst))),
            rate_limit_anonymous_per_second=float(
                _env(
                    "RATE_LIMIT_ANONYMOUS_PER_SECOND",
                    str(default.rate_limit_anonymous_per_second),
                )
            ),
            rate_limit_anonymous_burst=int(
                _env("RATE_LIMIT_ANONYMOUS_BURST", str(default.rate_limit_anonymous_burst))
            ),
            max_request_body_bytes=int(
                _env("MAX_REQUEST_BODY_BYTES", str(default.max_request_body_bytes))
            ),
            request_read_timeout_seconds=float(
                _env("REQUEST_READ_TIMEOUT_SECONDS", str(default.request_read_timeout_seconds))
            ),
            max_workbook_inflated_bytes=int(
                _env("MAX_WORKBOOK_INFLATED_BYTES", str(default.max_workbook_inflated_bytes))
            ),
            max_sheet_cells=int(_env("MAX_SHEET_CELLS", str(default.max_sheet_cells))),
            sample_data_dir=Path(sample_dir.strip()) if sample_dir.strip() else None,
            timezone=_env("TZ_NAME", default.timezone),
            today=date.fromisoformat(today) if today else None,
            debug=_env_bool("DEBUG", default.debug),
            policy=CreditPolicy.from_env(os.environ),
            queue_name=_env("QUEUE_NAME", default.queue_name),
            worker_concurrency=int(_env("WORKER_CONCURRENCY", str(default.worker_concurrency))),
            job_timeout_seconds=int(_env("JOB_TIMEOUT_SECONDS", str(default.job_timeout_seconds))),
            job_heartbeat_seconds=int(
                _env("JOB_HEARTBEAT_SECONDS", str(default.job_heartbeat_seconds))
            ),
            cors_allowed_origins=tuple(
                origin.strip()
                for origin in _env("CORS_ALLOWED_ORIGINS", "").split(",")
                if origin.strip()
            ),
            close_day_cron=_env("CLOSE_DAY_CRON", default.close_day_cron),
            log_level=_env("LOG_LEVEL", default.log_level).upper(),
            worker_metrics_port=_env_int_optional("WORKER_METRICS_PORT"),
            console_secret=_env_optional("CONSOLE_SECRET"),
            console_session_hours=float(
                _env("CONSOLE_SESSION_HOURS", str(default.console_session_hours))
            ),
            console_secure_cookies=_env_bool(
                "CONSOLE_SECURE_COOKIES", default.console_secure_cookies
            ),
        )
