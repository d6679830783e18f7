"""Close of day on the generated book, against `credit ingest` of the same book, in one run.

    uv run python bench/close_day.py [--customers 100000] [--loans 1000000] [--seed 7]

1. The book of `bench/ingest.py` (generated into `bench/out/` when absent) is loaded into a
   fresh, migrated PostgreSQL database with `credit ingest` (timed: the yardstick), as of
   `--today` (CREDIT_TODAY).
2. `credit close-day` closes the day before (the first close ever: one date), then the next
   day (a daily close), then 30 missed days at once, each a process of its own timed from spawn
   to exit, with its peak RSS.
Targets (issue 24): a daily close <= `credit ingest`; 30 missed days <= 10 x one day. Needs
PostgreSQL on 127.0.0.1 (`BENCH_POSTGRES_DSN` to change).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import ADMIN_DSN, OUT, drop_database, fresh_database

CREDIT = Path(sys.executable).parent / "credit"


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds from spawn to exit, the children's peak RSS so far (MB), and the output."""
    started = time.perf_counter()
    done = subprocess.run([str(CREDIT), *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"credit {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", default="2026-06-01")
    args = parser.parse_args()
    book = OUT / f"book-{args.customers}-{args.loans}-{args.seed}"
    customers, loans = book / "customer_data.xlsx", book / "loan_data.xlsx"
    if not (customers.exists() and loans.exists()):
        from credit.modules.ingest.sample import write_sample_book

        write_sample_book(book, args.customers, args.loans, args.seed)
    name = asyncio.run(fresh_database())
    base = ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "LITESTAR_APP"}}
    env.update(DATABASE_URL=f"{base}/{name}", SAMPLE_DATA_DIR="", LOG_LEVEL="WARNING")
    today = date.fromisoformat(args.today)
    try:
        env["CREDIT_TODAY"] = today.isoformat()
        ingest, ingest_rss, _ = timed(["ingest", str(customers), str(loans)], env)
        print(f"credit ingest: {ingest:.1f} s (peak RSS {ingest_rss:.0f} MB)", flush=True)
        runs = [
            ("first close (one date)", today - timedelta(days=1), today),
            ("daily close (one date)", today, today + timedelta(days=1)),
            ("30 missed days", today + timedelta(days=30), today + timedelta(days=31)),
        ]
        seconds: dict[str, float] = {}
        for label, until, clock in runs:
            env["CREDIT_TODAY"] = clock.isoformat()
            took, rss, out = timed(["close-day", "--date", until.isoformat()], env)
            seconds[label] = took
            closed = next((line for line in out.splitlines() if line.startswith("closed")), "")
            print(f"{label}: {took:.1f} s (peak RSS so far {rss:.0f} MB) | {closed}", flush=True)
        daily = seconds["daily close (one date)"]
        print(
            f"ratios: daily close / credit ingest = {daily / ingest:.2f} (target <= 1); "
            f"30 missed days / daily close = {seconds['30 missed days'] / daily:.2f} "
            "(target <= 10)"
        )
    finally:
        asyncio.run(drop_database(name))


if __name__ == "__main__":
    main()
