"""Collections file against make-payment, on the generated book, in one run.

    uv run python bench/collections_import.py [--rows 100000] [--http-sample 5000]
        [--connections 32]

1. The book of `bench/ingest.py` (100,000 customers, 1,000,000 loans; generated into
   `bench/out/` when absent) is loaded with `credit ingest` into two fresh PostgreSQL
   databases, as of `--today`.
2. `--rows` different current loans are drawn at random; the file has one row each: the
   installment it asks for (`amount_due`, the servicing rule's), paid today.
3. `credit payments import FILE` applies the file to the first database: one process, timed
   from spawn to exit, with its peak RSS.
4. The same payments go to make-payment on the second database, served by uvicorn (2
   workers, the app as `credit run` builds it), at `--connections` concurrent connections.
   Sending all 100,000 over HTTP takes long on this machine, so the first `--http-sample` rows
   are sent and the time for all is extrapolated from their rate (said so in the output).
Target (issue 24): the import at least 10x faster than make-payment; peak memory < 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import Server
from ingest import ADMIN_DSN, OUT, drop_database, fresh_database

CREDIT = Path(sys.executable).parent / "credit"


def credit(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    started = time.perf_counter()
    done = subprocess.run([str(CREDIT), *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"credit {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, done.stdout


async def payments_file(dsn: str, rows: int, today: date, path: Path) -> list[tuple]:
    """`rows` random current loans, each with the installment it asks for today."""
    import asyncpg

    from credit.lending.servicing import LoanTerms, stored_state

    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetch(
            "SELECT id, customer_id, loan_amount, interest_rate, tenure, start_date, "
            "monthly_installment, installments_settled, outstanding_principal, current_emi "
            "FROM loans WHERE outstanding_principal IS NULL AND installments_settled < tenure "
            "AND start_date <= $1 ORDER BY random() LIMIT $2",
            today,
            rows,
        )
    finally:
        await conn.close()
    payments = []
    for r in found:
        terms = LoanTerms(
            Decimal(r["loan_amount"]), Decimal(r["interest_rate"]), r["tenure"], r["start_date"]
        )
        state = stored_state(
            terms, Decimal(r["monthly_installment"]), r["installments_settled"], None, None
        )
        payments.append((f"BNK{r['id']:09d}", r["customer_id"], r["id"], state.amount_due))
    lines = ["Reference,Customer ID,Loan ID,Amount,Paid On"]
    lines += [f"{ref},{c},{loan},{amount},{today.isoformat()}" for ref, c, loan, amount in payments]
    await anyio.Path(path).write_text("\n".join(lines) + "\n")
    return payments


async def send(url: str, payments: list[tuple], today: date, connections: int) -> float:
    import httpx

    queue: asyncio.Queue[tuple] = asyncio.Queue()
    for payment in payments:
        queue.put_nowait(payment)
    failures = retried = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            nonlocal failures, retried
            while not queue.empty():
                reference, customer, loan, amount = queue.get_nowait()
                for _ in range(5):
                    try:
                        # The reference as the key: a retried payment is applied once.
                        response = await client.post(
                            f"/api/make-payment/{customer}/{loan}",
                            json={"amount": float(amount), "paid_on": today.isoformat()},
                            headers={"Idempotency-Key": reference},
                        )
                        break
                    except httpx.TransportError:
                        retried += 1
                else:
                    failures += 1
                    continue
                failures += response.status_code != 201

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        seconds = time.perf_counter() - started
    if failures or retried:
        print(
            f"  make-payment: {failures} payments not answered 201 (those the import rejects "
            f"too: the recorded EMI under the interest), {retried} connection errors retried",
            flush=True,
        )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--http-sample", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--today", default="2026-06-01")
    args = parser.parse_args()
    book = OUT / f"book-{args.customers}-{args.loans}-{args.seed}"
    customers, loans = book / "customer_data.xlsx", book / "loan_data.xlsx"
    if not (customers.exists() and loans.exists()):
        from credit.modules.ingest.sample import write_sample_book

        write_sample_book(book, args.customers, args.loans, args.seed)
    today = date.fromisoformat(args.today)
    base = ADMIN_DSN.rsplit("/", 1)[0]
    names = [asyncio.run(fresh_database()) for _ in range(2)]
    envs = []
    for name in names:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "LITESTAR_APP"}}
        env.update(
            DATABASE_URL=f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}",
            SAMPLE_DATA_DIR="",
            LOG_LEVEL="WARNING",
            CREDIT_TODAY=today.isoformat(),
            RATE_LIMIT_PER_SECOND="0",
        )
        envs.append(env)
    try:
        for env in envs:
            took, _, _ = credit(["ingest", str(customers), str(loans)], env)
            print(f"credit ingest: {took:.1f} s", flush=True)
        path = OUT / f"collections-{args.rows}.csv"
        payments = asyncio.run(payments_file(f"{base}/{names[0]}", args.rows, today, path))
        print(f"file: {len(payments)} rows for as many loans, {path}", flush=True)
        took, rss, out = credit(["payments", "import", str(path)], envs[0])
        summary = next((line for line in out.splitlines() if " rows: " in line), "")
        print(f"credit payments import: {took:.1f} s, peak RSS {rss:.0f} MB | {summary}")
        sample = payments[: args.http_sample]
        with Server("credit.app:create_app", 8791, envs[1], 2, OUT / "collections-server.log"):
            seconds = asyncio.run(send("http://127.0.0.1:8791", sample, today, args.connections))
        rate = len(sample) / seconds
        all_http = len(payments) / rate
        print(
            f"make-payment: {len(sample)} payments in {seconds:.1f} s at {args.connections} "
            f"connections = {rate:.0f}/s; all {len(payments)} extrapolated: {all_http:.0f} s"
        )
        print(f"ratio: make-payment / import = {all_http / took:.1f} (target >= 10)")
    finally:
        for name in names:
            asyncio.run(drop_database(name))


if __name__ == "__main__":
    main()
