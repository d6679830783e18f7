"""Screenshots of the console's screens on the sample book, for the README and docs/console/.

    uv run python -m tests.console_screenshots [OUT_DIR]

Starts the app on a fresh SQLite database with the committed sample book (as the quick
start does, with `AUTH_REQUIRED=true` and a write key so the pages show a signed-in officer),
makes one refused and one booked application, a payment and a reversed one, and closes the
day, so the pages have something to show, and saves a 1000-pixel-wide PNG of each screen.
Debian's Chromium through Playwright, as in the browser tests; nothing outside the app is
reached.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
import polars as pl

from credit.clock import FixedClock
from credit.db.migrations import upgrade_database
from credit.settings import SAMPLE_DATA_DIR, Settings
from tests.console_site import Outside, chromium, issue_key, serve
from tests.ingest_workbooks import SAMPLE_CUSTOMERS, SAMPLE_LOANS

OUT = Path(__file__).resolve().parents[1] / "docs" / "console"
TODAY = date(2025, 6, 15)
LOADED = date(2025, 3, 10)
WIDTH, HEIGHT = 1000, 900


def wait_for(api: httpx.Client, job_id: str) -> None:
    for _ in range(600):
        if api.get(f"/api/jobs/{job_id}").json()["status"] in ("complete", "failed"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"job {job_id} did not finish")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'screens.sqlite3'}",
        sample_data_dir=SAMPLE_DATA_DIR,
        upload_dir=tmp / "uploads",
        auth_required=True,
        rate_limit_per_second=0,
        console_secret="screenshots",
    )
    upgrade_database(settings)
    key = issue_key(settings, "Priya (loans desk)", "write")
    # The sample book is loaded as of three months before "today", with no payment since, so
    # the closes below find loans falling behind (SMA, NPA) and the portfolio has a story.
    with serve(settings, FixedClock(LOADED)):
        pass
    with serve(settings, FixedClock(TODAY)) as base, chromium() as browser:
        api = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60)
        customer = pl.read_excel(SAMPLE_CUSTOMERS).row(4, named=True)
        customer_id = customer["Customer ID"]
        refused = {"customer_id": customer_id, "loan_amount": 90_00_000, "interest_rate": 9}
        api.post("/api/create-loan", json=refused | {"tenure": 36})
        booked = api.post(
            "/api/create-loan",
            json={
                "customer_id": customer_id,
                "loan_amount": 75_000,
                "interest_rate": 16.5,
                "tenure": 12,
            },
        ).json()
        loan_id = booked["loan_id"]
        if loan_id is not None:
            api.post(f"/api/make-payment/{customer_id}/{loan_id}", json={"amount": 7_000})
            second = api.post(
                f"/api/make-payment/{customer_id}/{loan_id}", json={"amount": 6_805.08}
            ).json()
            api.post(
                f"/api/reverse-payment/{customer_id}/{loan_id}/{second['payment_id']}",
                json={"reason": "mandate debit returned: insufficient funds"},
            )
        # A few closed days for the portfolio's chart: the first close closes only its date,
        # the next every day after it up to yesterday.
        for until in ({"date": "2025-04-15"}, {}):
            wait_for(api, api.post("/api/close-day", json=until).json()["job_id"])
        with SAMPLE_CUSTOMERS.open("rb") as c, SAMPLE_LOANS.open("rb") as ln:
            job = api.post("/api/ingest", files={"customers": c, "loans": ln}).json()["job_id"]
        wait_for(api, job)
        name = str(customer["First Name"])[:3]
        outside = Outside(base)
        context = browser.new_context(
            base_url=base, viewport={"width": WIDTH, "height": HEIGHT}, device_scale_factor=1
        )
        context.route("**/*", outside.route)
        page = context.new_page()
        page.goto("/console/sign-in")
        page.screenshot(path=out / "sign-in.png")
        page.get_by_label("API key").fill(key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/customers")
        screens = {
            "customers": f"/console/customers?q={name}",
            "customer": f"/console/customers/{customer_id}",
            "apply": f"/console/apply?customer_id={customer_id}&loan_amount=9000000"
            "&interest_rate=9&tenure=36",
            "apply-approved": f"/console/apply?customer_id={customer_id}&loan_amount=50000"
            "&interest_rate=9&tenure=12",
            "loan": f"/console/loans/{loan_id}",
            "portfolio": "/console/portfolio",
            "operations": "/console/operations",
            "job-report": f"/console/operations/jobs/{job}",
        }
        for shot, path in screens.items():
            page.goto(path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=out / f"{shot}.png", full_page=shot in {"loan", "customer"})
            print(f"{out / f'{shot}.png'}: {(out / f'{shot}.png').stat().st_size} bytes")
        context.close()
        assert outside.blocked == [], outside.blocked


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
