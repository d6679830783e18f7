"""Finding customers by name on the big book: p99 of `GET /api/customers?name=...`.

    uv run python bench/customer_search.py [--customers 100000] [--loans 1000000] [--seed 7]

1. The generated book (`credit sample-data`'s code, as bench/ingest.py makes it, in
   `bench/out/`, reused when present) is loaded with `credit ingest` into a fresh, migrated
   PostgreSQL database (`BENCH_POSTGRES_DSN`, default the local one), dropped afterwards.
2. The app runs in this process (Litestar's test client: the handler, the two statements and
   the JSON, without a network hop) on that database, and sends `--requests` searches: a
   prefix of 1 to 4 letters of a first or last name the generator uses, in random case, with
   the default page of 20 (half of them the page after the first), then phone-number
   look-ups. Each request's wall time is recorded; the target is p99 under 50 ms.
With `--analyze` the tables' statistics are gathered first (`ANALYZE`, what autovacuum does
within a minute or so of a bulk load); without it the planner searches on its defaults. The
plans of a common and a rare prefix are printed. The load average is printed with the
figures: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
CREDIT = Path(sys.executable).with_name("credit")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(times: list[float]) -> dict[str, float]:
    ms = [t * 1000 for t in times]
    return {
        "requests": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
    }


async def admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def admin_on(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def load_book(url: str, customers: Path, loans: Path) -> float:
    from credit.db.migrations import upgrade_database
    from credit.settings import Settings

    upgrade_database(Settings(database_url=url, sample_data_dir=None))
    env = {**os.environ, "DATABASE_URL": url, "SAMPLE_DATA_DIR": "", "REDIS_URL": ""}
    started = time.perf_counter()
    subprocess.run(
        [str(CREDIT), "ingest", str(customers), str(loans)],
        env=env,
        check=True,
        capture_output=True,
        cwd=OUT,
    )
    return time.perf_counter() - started


async def search(url: str, requests: int, seed: int) -> dict[str, object]:
    from litestar.testing import AsyncTestClient

    from credit.app import create_app
    from credit.modules.ingest.sample import FIRST_NAMES, LAST_NAMES
    from credit.settings import Settings

    rng = random.Random(seed)
    names = FIRST_NAMES + LAST_NAMES
    settings = Settings(
        database_url=url, sample_data_dir=None, rate_limit_per_second=0, log_level="WARNING"
    )
    by_name: list[float] = []
    next_pages: list[float] = []
    by_phone: list[float] = []
    found: list[int] = []
    async with AsyncTestClient(app=create_app(settings)) as client:
        phones = [
            item["phone_number"]
            for item in (await client.get("/api/customers", params={"limit": 100})).json()["items"]
        ]
        for _ in range(50):  # warm the pool and the caches
            await client.get("/api/customers", params={"name": rng.choice(names)[:2]})
        for _ in range(requests):
            name = rng.choice(names)
            prefix = name[: rng.randint(1, 4)]
            prefix = prefix.upper() if rng.random() < 0.3 else prefix.lower()
            started = time.perf_counter()
            response = await client.get("/api/customers", params={"name": prefix})
            by_name.append(time.perf_counter() - started)
            page = response.json()
            assert response.status_code == 200, response.text
            found.append(len(page["items"]))
            if page["next"] is not None and rng.random() < 0.5:
                started = time.perf_counter()
                after = {"name": prefix, "after": page["next"]}
                response = await client.get("/api/customers", params=after)
                next_pages.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
        for _ in range(requests // 4):
            started = time.perf_counter()
            response = await client.get(
                "/api/customers", params={"phone_number": rng.choice(phones)}
            )
            by_phone.append(time.perf_counter() - started)
            assert len(response.json()["items"]) == 1
    return {
        "name": summary(by_name),
        "name, page after the first": summary(next_pages) if next_pages else {},
        "phone_number": summary(by_phone),
        "items per name page (median)": statistics.median(found),
    }


async def plans(url: str) -> None:
    """EXPLAIN ANALYZE of the page statement for a common and a rare prefix."""
    import asyncpg

    from credit.modules.customers.service import find_statement, prefix_end

    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(dsn)
    try:
        from sqlalchemy.dialects import postgresql

        for prefix in ("s", "priy"):
            statement = find_statement("postgresql", False, True).params(
                after=0, rows=21, name_low=prefix, name_high=prefix_end(prefix)
            )
            sql = str(
                statement.compile(
                    dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
                )
            )
            rows = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF) " + sql)
            print(f"plan for name={prefix!r}:")
            for row in rows:
                print("   ", row[0])
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--analyze", action="store_true")
    args = parser.parse_args()
    book = OUT / f"book-{args.customers}-{args.loans}-{args.seed}"
    customers, loans = book / "customer_data.xlsx", book / "loan_data.xlsx"
    if not (customers.exists() and loans.exists()):
        from credit.modules.ingest.sample import write_sample_book

        write_sample_book(book, args.customers, args.loans, args.seed)
    name = f"credit_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    url += f"/{name}"
    try:
        print(f"load average before loading {os.getloadavg()}", flush=True)
        seconds = load_book(url, customers, loans)
        print(f"loaded {args.customers} customers, {args.loans} loans in {seconds:.0f} s")
        if args.analyze:
            asyncio.run(admin_on(url, "ANALYZE"))
        asyncio.run(plans(url))
        print(f"load average before searching {os.getloadavg()}", flush=True)
        results = asyncio.run(search(url, args.requests, args.seed))
        print(json.dumps(results, indent=2))
        print(f"load average after {os.getloadavg()}")
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
