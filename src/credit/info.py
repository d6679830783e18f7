"""`credit info`: how this service is configured, as the settings say, secrets hidden.

Litestar's own `info` shows the framework's table (app name, debug, middleware); an operator
wants the service's: the database and Redis it would use (passwords hidden), whether API keys
are required, the rate limits, the day it treats as today (pinned by `CREDIT_TODAY` or the
lender's date), and where uploads and the sample live. It reads the settings only: it builds
no app and opens no connection.
"""

from __future__ import annotations

from importlib.metadata import version

import click


def _rate(per_second: float, burst: int) -> str:
    return "off" if per_second <= 0 else f"{per_second:g}/s after a burst of {burst}"


def describe() -> list[tuple[str, str]]:
    from credit.clock import clock_for
    from credit.db.schema_state import served_database
    from credit.settings import Settings

    settings = Settings.from_env()
    today = clock_for(settings).today().isoformat()
    pinned = (
        f"{today} (pinned by CREDIT_TODAY)" if settings.today else f"{today} ({settings.timezone})"
    )
    return [
        ("version", f"credit {version('credit')}, Litestar {version('litestar')}"),
        ("database", served_database(settings.database_url)),
        ("database pool", str(settings.database_pool_size)),
        (
            "jobs",
            f"SAQ queue {settings.queue_name!r} on {served_database(settings.redis_url)} "
            f"(`credit workers run`, {settings.worker_concurrency} at once)"
            if settings.redis_url
            else "in-process (no REDIS_URL)",
        ),
        ("API keys", "required (AUTH_REQUIRED=true)" if settings.auth_required else "not required"),
        ("rate limit per key", _rate(settings.rate_limit_per_second, settings.rate_limit_burst)),
        (
            "rate limit without a key",
            _rate(settings.rate_limit_anonymous_per_second, settings.rate_limit_anonymous_burst)
            if settings.auth_required
            else "not applicable (keys not required)",
        ),
        ("today", pinned),
        ("CORS origins", ", ".join(settings.cors_allowed_origins) or "none"),
        ("uploads", str(settings.upload_dir)),
        (
            "sample book",
            str(settings.sample_data_dir) if settings.sample_data_dir else "none",
        ),
        ("log level", settings.log_level),
    ]


@click.command(name="info")
def info() -> None:
    """Show how this service is configured (secrets hidden)."""
    rows = describe()
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        click.echo(f"{name.ljust(width)}  {value}")
