"""CPU per request, in-process: the app's ASGI callable driven directly, no server, no client.

    DATABASE_URL=postgresql+asyncpg://... CREDIT_TODAY=2025-06-15 \
        uv run python bench/cpu_per_request.py [--requests 3000] [--profile OUT.prof]

Calls the app (and both references of `bench/reference_app.py`: `reference`, the raw one, and
`same-stack`, on the same database) with ready-made ASGI scopes for each endpoint, one request
at a time, and prints the process CPU time per request. There
is no HTTP parsing, no socket and no concurrency here, so the figures are smaller than the
served ones in `bench/api.py`, but they are steady enough on a shared machine to compare two
versions of the code, and `--profile` records where that CPU goes (cProfile, CPU-time timer).
Any loaded book will do; ids are sampled from it. `BENCH_LOOP=uvloop` runs it on uvloop, the
loop uvicorn serves with (asyncio's own keeps its timers in a Python heap, which makes every
timer a query arms cost more than it does when served).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import random
import sys
import time
from collections.abc import Callable
from typing import Any

import asyncpg

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

Scope = dict[str, Any]


def http_scope(method: str, path: str, body: bytes = b"") -> tuple[Scope, bytes]:
    headers = [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    return scope, body


async def call(app: Any, scope: Scope, body: bytes) -> int:
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(scope, state={}), receive, send)
    return status


def application(customers: list[int]) -> bytes:
    return json.dumps(
        {
            "customer_id": random.choice(customers),
            "loan_amount": 10000 * random.randint(1, 50),
            "interest_rate": 6 + random.randint(0, 120) / 10,
            "tenure": 6 * random.randint(1, 20),
        }
    ).encode()


async def book_ids(dsn: str) -> tuple[list[int], list[int]]:
    """Up to 50,000 customer ids and loan ids that exist in the book."""
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        customers = await conn.fetch("SELECT id FROM customers ORDER BY random() LIMIT 50000")
        loans = await conn.fetch("SELECT id FROM loans ORDER BY random() LIMIT 50000")
        return [r[0] for r in customers], [r[0] for r in loans]
    finally:
        await conn.close()


def endpoints(
    customers: list[int], loans: list[int]
) -> dict[str, Callable[[], tuple[Scope, bytes]]]:
    phones = iter(range(5_000_000_000, 6_000_000_000))

    def reference() -> tuple[Scope, bytes]:  # both references answer the same path
        return http_scope("GET", f"/reference/{random.choice(customers)}")

    return {
        "reference": reference,
        "same-stack": reference,
        "check-eligibility": lambda: http_scope(
            "POST", "/api/check-eligibility", application(customers)
        ),
        "view-loans": lambda: http_scope("GET", f"/api/view-loans/{random.choice(customers)}"),
        "view-loan": lambda: http_scope("GET", f"/api/view-loan/{random.choice(loans)}"),
        "register": lambda: http_scope(
            "POST",
            "/api/register",
            json.dumps(
                {
                    "first_name": "Bench",
                    "last_name": "Customer",
                    "age": 30,
                    "monthly_income": 50000,
                    "phone_number": next(phones),
                }
            ).encode(),
        ),
        "create-loan": lambda: http_scope("POST", "/api/create-loan", application(customers)),
    }


async def measure(
    app: Any, make: Callable[[], tuple[Scope, bytes]], n: int, concurrency: int
) -> tuple[float, dict[int, int]]:
    statuses: dict[int, int] = {}
    for _ in range(min(200, n)):  # warm-up: caches, prepared statements, pool
        await call(app, *make())
    requests = [make() for _ in range(n)]

    async def client(mine: list[tuple[Scope, bytes]]) -> None:
        for scope, body in mine:
            status = await call(app, scope, body)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.process_time()
    if concurrency == 1:
        await client(requests)
        return (time.process_time() - started) / n * 1000, statuses
    await asyncio.gather(*(client(requests[i::concurrency]) for i in range(concurrency)))
    return (time.process_time() - started) / n * 1000, statuses


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument(
        "--endpoints", default="reference,same-stack,check-eligibility,view-loans,view-loan"
    )
    parser.add_argument("--concurrency", type=int, default=1, help="requests in flight")
    parser.add_argument("--profile", help="write a cProfile of the app's endpoints here")
    parser.add_argument(
        "--profile-references", action="store_true", help="profile the references too"
    )
    args = parser.parse_args()
    random.seed(7)
    os.environ.setdefault("RATE_LIMIT_PER_SECOND", "1000000000")

    from bench.reference_app import create_app as reference_app
    from bench.reference_app import create_same_stack_app

    from credit.app import create_app

    customers, loans = await book_ids(os.environ["DATABASE_URL"])
    makers = endpoints(customers, loans)
    app, reference, same_stack = create_app(), reference_app(), create_same_stack_app()
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    references = {"reference": reference, "same-stack": same_stack}
    async with app.lifespan(), reference.lifespan(), same_stack.lifespan():
        for name in args.endpoints.split(","):
            target = references.get(name, app)
            if profiler and (name not in references or args.profile_references):
                profiler.enable()
            ms, statuses = await measure(target, makers[name], args.requests, args.concurrency)
            if profiler:
                profiler.disable()
            print(f"{name:18} {ms:6.3f} ms CPU/request  statuses {statuses}", flush=True)
    if profiler:
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    if os.environ.get("BENCH_LOOP") == "uvloop":
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())
