"""The console on an open service (the embedded default, `AUTH_REQUIRED=false`), in a real
browser on both databases: every screen opens without signing in and says, on the page, that
the service is open; nothing is fetched from outside."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date

import httpx
import polars as pl
import pytest

from credit.clock import FixedClock
from credit.db.migrations import upgrade_database
from credit.settings import SAMPLE_DATA_DIR, Settings
from tests.conftest import _admin, _sqlalchemy_url, in_own_loop
from tests.console_site import Outside, chromium, serve
from tests.ingest_workbooks import SAMPLE_CUSTOMERS

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.xdist_group("console-browser")

OPEN_NOTICE = "This service is open"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def open_site(
    request: pytest.FixtureRequest, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """SQLite as the quick start has it (the sample book loaded on start); PostgreSQL empty."""
    tmp = tmp_path_factory.mktemp("console-open")
    dropped = None
    if database == "sqlite":
        url, sample = f"sqlite+aiosqlite:///{tmp / 'open.sqlite3'}", SAMPLE_DATA_DIR
    else:
        admin: str = request.getfixturevalue("pg_admin_dsn")
        name = f"credit_console_{uuid.uuid4().hex[:10]}"
        in_own_loop(_admin(admin, f'CREATE DATABASE "{name}"'))
        url, sample = _sqlalchemy_url(admin.rsplit("/", 1)[0] + f"/{name}"), None
        dropped = (admin, name)
    settings = Settings(database_url=url, sample_data_dir=sample, upload_dir=tmp / "uploads")
    upgrade_database(settings)
    try:
        with serve(settings, FixedClock(date(2025, 6, 15))) as base:
            yield base
    finally:
        if dropped is not None:
            admin, name = dropped
            in_own_loop(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, open_site: str) -> Iterator[Page]:
    outside = Outside(open_site)
    context = browser.new_context(base_url=open_site)
    context.route("**/*", outside.route)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert outside.blocked == [], f"the console tried to reach outside: {outside.blocked}"


def test_every_screen_opens_without_sign_in_and_says_the_service_is_open(
    page: Page, open_site: str
) -> None:
    phone = 7_000_000_000 + uuid.uuid4().int % 999_999_999
    customer = httpx.post(
        f"{open_site}/api/register",
        json={
            "first_name": "Open",
            "last_name": "Door",
            "age": 33,
            "monthly_income": 80_000,
            "phone_number": phone,
        },
    ).json()["customer_id"]
    loan = httpx.post(
        f"{open_site}/api/create-loan",
        json={"customer_id": customer, "loan_amount": 50_000, "interest_rate": 13, "tenure": 6},
    ).json()["loan_id"]
    page.goto("/console")
    expect(page).to_have_url(re.compile(r"/console/customers$"))
    screens = [
        "/console/customers",
        f"/console/customers?q={customer}",
        f"/console/customers/{customer}",
        f"/console/apply?customer_id={customer}&loan_amount=1000&interest_rate=14&tenure=6",
        f"/console/loans/{loan}",
        "/console/operations",
        "/console/customers/987654321",  # an error page too
    ]
    for screen in screens:
        page.goto(screen)
        expect(page.get_by_text(OPEN_NOTICE)).to_be_visible()
        expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    page.goto("/console/sign-in")
    expect(page).to_have_url(re.compile(r"/console/customers$"))


def test_the_quick_start_book_is_there(page: Page, open_site: str, database: str) -> None:
    """On SQLite the sample book was loaded on start, as `credit run` does it; its first
    customer's page shows their loans, and a loan's page its settled installments."""
    sample = pl.read_excel(SAMPLE_CUSTOMERS).row(0, named=True)
    first = httpx.get(f"{open_site}/api/customers/{sample['Customer ID']}").json()
    if database == "postgres":  # empty at start, as a deployment (`credit ingest` loads it)
        assert first.get("first_name") != sample["First Name"]
        return
    assert first["first_name"] == sample["First Name"]
    page.goto(f"/console/customers/{sample['Customer ID']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(sample["First Name"])
    page.locator("a[href^='/console/loans/']").first.click()
    expect(page.locator("svg.chart polyline")).to_have_count(1)
    expect(page.locator("tr.settled").first).to_be_visible()
