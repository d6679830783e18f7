"""Liveness and readiness probes for orchestrators: `GET /health` and `GET /ready`.

`/health` answers as long as the process serves HTTP; it touches nothing else, so a slow
database never gets a healthy process restarted. `/ready` checks what a request needs: the
database with its schema at the migrations' head (`credit.db.schema_state`), and Redis
when jobs go through it. A failed check gives 503 naming the dependency (its error class only:
messages can carry host names and user names), or the schema's revision and the command to run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import anyio
from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from credit.db.schema_state import SCHEMA_KEY, SchemaState, SchemaStatus
from credit.http import error
from credit.settings import Settings

CHECK_TIMEOUT_S = 3.0
REDIS_CLIENT_KEY = "readiness_redis"


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)
    schema: SchemaStatus | None = None

    @property
    def failed(self) -> list[str]:
        return [name for name, outcome in self.checks.items() if outcome not in ("ok", "skipped")]

    def detail(self) -> str:
        problems = [
            self.checks[name] if name == "schema" else f"{name} unavailable" for name in self.failed
        ]
        return f"Not ready: {'; '.join(problems)}."


async def _check(readiness: Readiness, name: str, probe: Any) -> None:
    try:
        with anyio.fail_after(CHECK_TIMEOUT_S):
            await probe()
    except TimeoutError:
        readiness.checks[name] = "timeout"
    except Exception as exc:
        readiness.checks[name] = f"unreachable ({type(exc).__name__})"
    else:
        readiness.checks[name] = "ok"


def redis_client(state: State, url: str) -> Any:
    """One small client per process, made on first use and closed on shutdown."""
    client = state.get(REDIS_CLIENT_KEY)
    if client is None:
        from redis.asyncio import Redis

        client = Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S
        )
        state[REDIS_CLIENT_KEY] = client
    return client


async def close_redis_client(state: State) -> None:
    client = state.get(REDIS_CLIENT_KEY)
    if client is not None:
        await client.aclose()
        state[REDIS_CLIENT_KEY] = None


async def readiness(settings: Settings, schema: SchemaState, state: State) -> Readiness:
    result = Readiness()

    async def database() -> None:
        result.schema = await schema.check()

    await _check(result, "database", database)
    if result.schema is None:
        result.checks["schema"] = "skipped"  # the database check failed and says so
    else:
        result.checks["schema"] = "ok" if result.schema.at_head else result.schema.problem()
    if settings.redis_url:
        client = redis_client(state, settings.redis_url)
        await _check(result, "redis", client.ping)
    else:
        result.checks["redis"] = "skipped"
    return result


class HealthController(Controller):
    tags = ["Operations"]
    opt = {"exclude_from_auth": True}

    @get(
        "/health",
        operation_id="health",
        summary="Liveness",
        description="200 while the process serves HTTP. Checks nothing else.",
        sync_to_thread=False,
    )
    def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/ready",
        operation_id="ready",
        summary="Readiness",
        description="200 when the database and (when `REDIS_URL` is set) Redis answer within "
        f"{CHECK_TIMEOUT_S:g} s each and the database's schema is at the migrations' head; "
        "otherwise 503 with the failed dependencies, or the schema's revision and the command "
        "to run, named in `detail`, and every check's outcome in `extra.checks`.",
        responses={
            503: error(
                "A dependency is unavailable, or the schema is not at the migrations' head; "
                "`detail` names it."
            )
        },
    )
    async def ready(
        self, settings: NamedDependency[Settings], state: State
    ) -> Response[dict[str, Any]]:
        started = time.perf_counter()
        result = await readiness(settings, state[SCHEMA_KEY], state)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        if result.failed:
            return Response(
                {
                    "status_code": HTTP_503_SERVICE_UNAVAILABLE,
                    "detail": result.detail(),
                    "extra": {"checks": result.checks},
                },
                status_code=HTTP_503_SERVICE_UNAVAILABLE,
                media_type=MediaType.JSON,
            )
        return Response(
            {"status": "ready", "checks": result.checks, "duration_ms": elapsed_ms},
            status_code=HTTP_200_OK,
            media_type=MediaType.JSON,
        )
