"""Ingestion speed: fastexcel alone vs the full ingestion into PostgreSQL, in one run.

    uv run python bench/ingest.py [--customers 100000] [--loans 1000000] [--seed 7]

1. Generates the book with the project's generator (`credit sample-data`'s code) into
   `bench/out/` (reused when present with the same size and seed).
2. In a fresh child process: fastexcel reads both workbooks into Polars (the baseline).
3. In a fresh child process: the whole ingestion (`ingest_workbooks`: read, validate, plan,
   COPY + MERGE, index rebuild, commit) into a freshly created, migrated PostgreSQL database.
4. `credit ingest CUSTOMERS LOANS` as an operator runs it, end to end (process start,
   imports, the in-process job, the report), into another fresh database.
Steps 2 to 4 alternate for `--rounds` rounds (default 3). Each reports its wall time and
peak RSS; the targets are in-process ingestion <= 1.15 x read, `credit ingest` <= 1.75 x read
(medians), peak memory < 1.5 GB. Needs PostgreSQL on 127.0.0.1 (`BENCH_POSTGRES_DSN` to
change).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def phase_read(customers: Path, loans: Path) -> dict[str, float]:
    import fastexcel

    started = time.perf_counter()
    c = fastexcel.read_excel(str(customers)).load_sheet(0).to_polars()
    loan_frame = fastexcel.read_excel(str(loans)).load_sheet(0).to_polars()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": c.height + loan_frame.height, "peak_rss_mb": peak_rss_mb()}


def phase_ingest(customers: Path, loans: Path, database_url: str) -> dict[str, object]:
    from credit.clock import clock_for
    from credit.db.database import sqlalchemy_config
    from credit.modules.ingest.service import ingest_workbooks
    from credit.settings import Settings

    stages: list[tuple[str, float]] = []
    started = time.perf_counter()

    async def progress(stage: str, rows_done: int) -> None:
        stages.append((stage, round(time.perf_counter() - started, 2)))

    async def ingest() -> Any:
        # The engine of the process's one config, as the job and `credit ingest` use.
        settings = Settings(database_url=database_url)
        engine = sqlalchemy_config(settings).get_engine()
        try:
            clock = clock_for(settings)
            return await ingest_workbooks(engine, customers, loans, clock, progress)
        finally:
            await engine.dispose()

    report = asyncio.run(ingest())
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "stages": stages,
        "customers_inserted": report.customers.inserted,
        "loans_inserted": report.loans.inserted,
        "remapped": len(report.remappings),
        "rejected": len(report.rejected),
    }


def phase_cli(customers: Path, loans: Path, database_url: str) -> dict[str, object]:
    """`credit ingest` in a process of its own, timed from spawn to exit."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "LITESTAR_APP"}}
    env.update(DATABASE_URL=database_url, SAMPLE_DATA_DIR="", LOG_LEVEL="WARNING")
    credit = Path(sys.executable).parent / "credit"
    started = time.perf_counter()
    done = subprocess.run(
        [str(credit), "ingest", str(customers), str(loans)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = [
        line for line in done.stdout.splitlines() if line.startswith(("customers:", "loans:"))
    ]
    return {"seconds": seconds, "peak_rss_mb": children, "summary": summary}


def run_child(*args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def fresh_database() -> str:
    import asyncpg

    from credit.db.migrations import upgrade_database
    from credit.settings import Settings

    name = f"credit_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(ADMIN_DSN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    upgrade_database(Settings(database_url=url, sample_data_dir=None))
    return name


async def drop_database(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_DSN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--phase", choices=["read", "ingest", "cli"])
    parser.add_argument("--database-url")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    book_dir = OUT / f"book-{args.customers}-{args.loans}-{args.seed}"
    customers, loans = book_dir / "customer_data.xlsx", book_dir / "loan_data.xlsx"

    if args.phase == "read":
        print(json.dumps(phase_read(customers, loans)))
        return
    if args.phase == "ingest":
        print(json.dumps(phase_ingest(customers, loans, args.database_url)))
        return
    if args.phase == "cli":
        print(json.dumps(phase_cli(customers, loans, args.database_url)))
        return

    from credit.modules.ingest.sample import write_sample_book

    if not (customers.exists() and loans.exists()):
        started = time.perf_counter()
        write_sample_book(book_dir, args.customers, args.loans, args.seed)
        print(f"generated {book_dir} in {time.perf_counter() - started:.1f} s", flush=True)
    sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in (customers, loans)}
    print(f"files (MiB): {sizes}", flush=True)

    # Read and ingestion alternate, so both see the same (shared, busy) machine; the best
    # round of each is the figure least disturbed by other processes.
    reads: list[float] = []
    ingests: list[float] = []
    clis: list[float] = []
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}, load average {os.getloadavg()}", flush=True)
        read = run_child("--phase", "read", *_size_args(args))
        print(f"  fastexcel read: {json.dumps(read)}", flush=True)
        ingest = _into_fresh_database("ingest", args)
        print(f"  ingestion in-process: {json.dumps(ingest)}", flush=True)
        cli = _into_fresh_database("cli", args)
        print(f"  credit ingest end to end: {json.dumps(cli)}", flush=True)
        reads.append(float(read["seconds"]))  # type: ignore[arg-type]
        ingests.append(float(ingest["seconds"]))  # type: ignore[arg-type]
        clis.append(float(cli["seconds"]))  # type: ignore[arg-type]
        print(
            f"  ratios: in-process {ingests[-1] / reads[-1]:.2f}, credit ingest "
            f"{clis[-1] / reads[-1]:.2f}; peak RSS in-process {ingest['peak_rss_mb']:.0f} MB, "
            f"credit ingest {cli['peak_rss_mb']:.0f} MB, read {read['peak_rss_mb']:.0f} MB",
            flush=True,
        )
    in_process = statistics.median(i / r for i, r in zip(ingests, reads, strict=True))
    end_to_end = statistics.median(c / r for c, r in zip(clis, reads, strict=True))
    print(
        f"median read {statistics.median(reads):.1f} s, in-process {statistics.median(ingests):.1f}"
        f" s, credit ingest {statistics.median(clis):.1f} s; median ratios: in-process "
        f"{in_process:.2f} (target <= 1.15), credit ingest {end_to_end:.2f} (target <= 1.75)"
    )


def _into_fresh_database(phase: str, args: argparse.Namespace) -> dict[str, object]:
    name = asyncio.run(fresh_database())
    try:
        base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        return run_child("--phase", phase, "--database-url", f"{base}/{name}", *_size_args(args))
    finally:
        asyncio.run(drop_database(name))


def _size_args(args: argparse.Namespace) -> list[str]:
    return [
        "--customers",
        str(args.customers),
        "--loans",
        str(args.loans),
        "--seed",
        str(args.seed),
    ]


if __name__ == "__main__":
    main()
