"""The loan officer's console in a real browser (Debian's Chromium through Playwright), on
both databases, against the app served by uvicorn with `AUTH_REQUIRED=true`.

One server and one browser per database for the whole module; each test opens a fresh
browser context (its own cookies) that blocks every request leaving the app's address, and
fails if any was tried. Figures a test sets up come from the JSON API with a write key; what
it checks is what an officer sees and does on the pages.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from credit.clock import FixedClock
from credit.db.migrations import upgrade_database
from credit.settings import Settings
from tests.conftest import _admin, _sqlalchemy_url, in_own_loop
from tests.console_site import Outside, chromium, issue_key, serve
from tests.ingest_workbooks import SAMPLE_CUSTOMERS, SAMPLE_LOANS

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.xdist_group("console-browser")

TODAY = date(2025, 6, 15)


@dataclass
class Site:
    url: str
    write_key: str
    read_key: str
    database: str

    def api(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        answer = httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"X-API-Key": key or self.write_key},
            timeout=30,
        )
        assert answer.status_code < 300, answer.text
        return answer.json()

    def customer(self, income: int = 150_000, first_name: str = "Meera") -> int:
        phone = 6_000_000_000 + uuid.uuid4().int % 999_999_999
        body = {
            "first_name": first_name,
            "last_name": "Console",
            "age": 41,
            "monthly_income": income,
            "phone_number": phone,
        }
        return int(self.api("POST", "/api/register", body)["customer_id"])

    def loan(self, customer_id: int, amount: int = 120_000) -> int:
        body = {
            "customer_id": customer_id,
            "loan_amount": amount,
            "interest_rate": 12,
            "tenure": 12,
        }
        answer = self.api("POST", "/api/create-loan", body)
        assert answer["loan_approved"], answer
        return int(answer["loan_id"])


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("console")
    dropped = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'console.sqlite3'}"
    else:
        admin: str = request.getfixturevalue("pg_admin_dsn")
        name = f"credit_console_{uuid.uuid4().hex[:10]}"
        in_own_loop(_admin(admin, f'CREATE DATABASE "{name}"'))
        url = _sqlalchemy_url(admin.rsplit("/", 1)[0] + f"/{name}")
        dropped = (admin, name)
    settings = Settings(
        database_url=url,
        sample_data_dir=None,
        upload_dir=tmp / "uploads",
        auth_required=True,
        rate_limit_per_second=0,
        rate_limit_anonymous_per_second=0,
        console_secret="browser-tests",
    )
    upgrade_database(settings)
    write_key = issue_key(settings, "officer", "write")
    read_key = issue_key(settings, "auditor", "read")
    try:
        with serve(settings, FixedClock(TODAY)) as base:
            yield Site(base, write_key, read_key, request.param)
    finally:
        if dropped is not None:
            admin, name = dropped
            in_own_loop(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    outside = Outside(site.url)
    context = browser.new_context(base_url=site.url, viewport={"width": 1200, "height": 900})
    context.route("**/*", outside.route)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
    assert outside.blocked == [], f"the console tried to reach outside: {outside.blocked}"


def sign_in(page: Page, site: Site, key: str | None = None) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("API key").fill(key or site.write_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()


def every_field_is_labelled(page: Page) -> None:
    """Keyboard and screen-reader use: each visible field has a label naming it."""
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(f => !(f.labels && f.labels.length)).map(f => f.name)"""
    )
    assert unlabelled == []


def test_sign_in_with_a_key(page: Page, site: Site) -> None:
    page.goto("/console/customers")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    page.get_by_label("API key").fill("ck_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#e-api_key")).to_have_text("The API key is unknown or revoked.")
    page.get_by_label("API key").fill(site.write_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/customers$"))
    expect(page.get_by_text("Signed in as officer (write key)")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "console_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console"
    assert cookie["expires"] > 0  # it ends
    assert site.write_key not in cookie["value"]  # sealed, not readable
    expect(page.get_by_text("This service is open")).to_have_count(0)


def test_find_a_customer_as_you_type_and_see_the_score(page: Page, site: Site) -> None:
    first_name = f"Ishita{uuid.uuid4().hex[:6]}"
    customer_id = site.customer(income=1_50_000, first_name=first_name)
    phone = site.api("GET", f"/api/customers/{customer_id}")["phone_number"]
    sign_in(page, site)
    search = page.get_by_label("Phone number, name or customer id")
    search.press_sequentially(first_name[:9].lower(), delay=20)  # no Enter: as you type
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(rf"q={first_name[:9].lower()}"))  # bookmarkable
    search.fill(str(phone))
    search.dispatch_event("input")
    expect(page.locator("#results")).to_contain_text(str(phone))
    page.get_by_role("link", name=f"{first_name} Console").click()
    expect(page).to_have_url(re.compile(rf"/console/customers/{customer_id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{first_name} Console")
    expect(page.locator("dd", has_text="1,50,000.00")).to_be_visible()  # Indian grouping
    expect(page.locator("dd", has_text="54,00,000.00")).to_be_visible()  # the approved limit
    bars = page.locator("svg.bars rect.fill")
    expect(bars).to_have_count(4)
    every_field_is_labelled(page)
    page.goto("/console/customers/987654321")
    expect(page.locator(".problem")).to_have_text("Customer 987654321 not found.")
    assert "Traceback" not in page.content()


def test_register_shows_the_api_message_beside_the_field(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.get_by_label("First name").fill("Arjun")
    page.get_by_label("Last name").fill("Rao")
    page.get_by_label("Age").fill("17")
    page.get_by_label("Monthly income (₹)").fill("45000")
    page.get_by_label("Phone number (10 digits)").fill("9012345678")
    page.get_by_label("Age").evaluate("e => e.removeAttribute('min')")  # what the API says
    page.get_by_role("button", name="Register customer").click()
    expect(page.locator("#e-age")).to_have_text("Expected `int` >= 18")
    # The same form from elsewhere, without the page's CSRF token: refused, nothing written.
    forged = page.request.post(
        "/console/customers",
        form={
            "first_name": "X",
            "last_name": "Y",
            "age": "30",
            "monthly_income": "45000",
            "phone_number": "9012345678",
        },
        max_redirects=0,
    )
    assert forged.status == 403
    page.get_by_label("Age").fill("30")
    page.get_by_role("button", name="Register customer").click()
    expect(page.get_by_text(re.compile(r"Customer \d+ registered"))).to_be_visible()
    expect(page.locator("dd", has_text="16,00,000.00")).to_be_visible()


def test_apply_refused_with_its_reasons(page: Page, site: Site) -> None:
    customer_id = site.customer(income=20_000)
    sign_in(page, site)
    page.get_by_role("link", name="Apply", exact=True).click()
    page.get_by_label("Customer id").fill(str(customer_id))
    page.get_by_label("Loan amount (₹)").fill("5000000")
    page.get_by_label("Interest rate (% a year)").fill("10")
    page.get_by_label("Tenure (months)").fill("24")
    page.get_by_role("button", name="Check eligibility").click()
    expect(page.get_by_role("heading", name="Not eligible")).to_be_visible()
    every_field_is_labelled(page)
    reasons = page.get_by_role("list", name="Reasons")
    expect(reasons).to_contain_text("emi_over_income_share")
    expect(reasons).to_contain_text("over_limit_with_new_loan")
    expect(page.get_by_role("button", name=re.compile("^Book"))).to_have_count(0)
    # The check is an address: bookmarkable, and it wrote nothing.
    assert "loan_amount=5000000" in page.url
    assert site.api("GET", f"/api/customers/{customer_id}/decisions")["items"] == []


def test_apply_approved_books_once_on_a_double_click(page: Page, site: Site) -> None:
    customer_id = site.customer(income=1_00_000)
    sign_in(page, site)
    page.goto(
        f"/console/apply?customer_id={customer_id}&loan_amount=200000&interest_rate=11&tenure=12"
    )
    expect(page.get_by_role("heading", name="Eligible")).to_be_visible()
    book = page.get_by_role("button", name=re.compile(r"^Book ₹ 2,00,000.00 at 11"))
    book.dblclick()
    expect(page).to_have_url(re.compile(r"/console/loans/\d+\?booked=\d+"))
    expect(page.get_by_text(re.compile(r"Loan \d+ booked"))).to_be_visible()
    loans = site.api("GET", f"/api/view-loans/{customer_id}")
    assert len(loans) == 1
    decisions = site.api("GET", f"/api/customers/{customer_id}/decisions")["items"]
    assert [d["loan_id"] for d in decisions] == [loans[0]["loan_id"]]
    page.goto(f"/console/customers/{customer_id}")
    expect(page.get_by_role("link", name=f"Loan {loans[0]['loan_id']}", exact=True)).to_be_visible()


def test_pay_an_installment_then_reverse_it(page: Page, site: Site) -> None:
    customer_id = site.customer()
    loan_id = site.loan(customer_id, amount=1_20_000)
    sign_in(page, site)
    page.goto(f"/console/loans/{loan_id}")
    expect(page.locator("svg.chart polyline")).to_have_count(1)
    every_field_is_labelled(page)
    page.get_by_label("Amount (₹)").fill("10")
    page.get_by_role("button", name="Record payment").click()
    expect(page.locator("#e-amount")).to_contain_text("interest")
    page.get_by_label("Amount (₹)").fill("10661.85")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text(re.compile(r"Payment \d+ recorded"))).to_be_visible()
    expect(page.locator("tr.settled")).to_have_count(1)
    expect(page.locator("dt:text-is('Amount paid') + dd")).to_have_text("₹ 10,661.85")
    statement = site.api("GET", f"/api/view-statement/{customer_id}/{loan_id}")
    assert statement["repayments_left"] == 11
    payment_id = statement["payments"][0]["payment_id"]
    # The bank returns it: reverse it, with the reason.
    reverse = page.get_by_role("button", name=f"Reverse payment {payment_id}")
    page.get_by_label("Reason (the bank's return reason)").fill("mandate returned: no funds")
    reverse.click()
    expect(page.get_by_text(f"Payment {payment_id} reversed.")).to_be_visible()
    expect(page.locator("tr.reversed")).to_contain_text("mandate returned: no funds")
    expect(page.locator("tr.settled")).to_have_count(0)
    expect(page.locator("dt:text-is('Amount paid') + dd")).to_have_text("₹ 0.00")
    statement = site.api("GET", f"/api/view-statement/{customer_id}/{loan_id}")
    assert statement["repayments_left"] == 12
    assert statement["payments"][0]["reversed"] is True


def test_close_a_day_and_see_the_portfolio_change(page: Page, site: Site) -> None:
    customer_id = site.customer()
    loan_id = site.loan(customer_id, amount=2_40_000)
    sign_in(page, site)
    page.get_by_role("link", name="Portfolio").click()
    expect(page.get_by_text("Nothing has been closed yet")).to_be_visible()
    page.get_by_role("link", name="Operations").click()
    expect(page.locator("#last-closed")).to_have_text("none yet")
    page.get_by_role("button", name="Close the day").click()
    expect(page).to_have_url(re.compile(r"/console/operations/jobs/[\w-]+$"))
    expect(page.locator("#report")).to_contain_text("Closed 1 day", timeout=60_000)
    expect(page.locator("progress#job-bar")).to_have_attribute("value", "100")
    page.get_by_role("link", name="See the portfolio").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("14 Jun 2025")
    portfolio = site.api("GET", "/api/portfolio")
    standard = page.locator("#by-classification tr", has_text="standard")
    expect(standard).to_contain_text(str(portfolio["by_classification"]["standard"]["loans"]))
    expect(page.locator("#ratio-figures")).to_contain_text("PAR 30")
    expect(page.locator("svg.chart polyline")).to_have_count(3)
    page.goto("/console/operations")
    expect(page.locator("#last-closed")).to_have_text("14 Jun 2025")
    # A loan booked today was not open at yesterday's close: not classified yet.
    page.goto(f"/console/loans/{loan_id}")
    expect(page.locator("#classification-history")).to_contain_text("Not classified yet")


def test_apply_the_banks_collections_file(page: Page, site: Site, tmp_path: Path) -> None:
    customer_id = site.customer()
    loan_id = site.loan(customer_id, amount=1_20_000)
    reference = f"UTR{uuid.uuid4().hex[:12].upper()}"
    bank_file = tmp_path / "collections.csv"
    bank_file.write_text(
        "Reference,Customer ID,Loan ID,Amount,Paid On\n"
        f"{reference},{customer_id},{loan_id},10661.85,{TODAY.isoformat()}\n"
        f"{reference}X,{customer_id},{loan_id},1.00,{TODAY.isoformat()}\n"
    )
    sign_in(page, site)
    page.goto("/console/operations")
    page.get_by_label("Collections file (CSV or xlsx)").set_input_files(bank_file)
    page.get_by_role("button", name="Upload and apply the payments").click()
    expect(page.locator("#report")).to_be_visible(timeout=60_000)
    expect(page.locator("dt:text-is('Applied') + dd")).to_have_text("1")
    expect(page.locator("#rejected")).to_contain_text(f"{reference}X")
    expect(page.locator("#rejected")).to_contain_text("interest")
    page.goto(f"/console/loans/{loan_id}")
    expect(page.locator("#payments").locator("..")).to_contain_text(reference)


def test_upload_the_workbooks_and_watch_the_bar_reach_the_report(
    page: Page, site: Site, tmp_path: Path
) -> None:
    sign_in(page, site)
    page.get_by_role("link", name="Operations").click()
    every_field_is_labelled(page)
    not_a_workbook = tmp_path / "customers.xlsx"
    not_a_workbook.write_text("Customer ID,First Name\n1,Asha\n")
    page.get_by_label("Customers workbook (customer_data.xlsx)").set_input_files(not_a_workbook)
    page.get_by_label("Loans workbook (loan_data.xlsx)").set_input_files(SAMPLE_LOANS)
    page.get_by_role("button", name="Upload and load the book").click()
    expect(page.locator("#e-customers")).to_contain_text("customers file")
    page.get_by_label("Customers workbook (customer_data.xlsx)").set_input_files(SAMPLE_CUSTOMERS)
    page.get_by_label("Loans workbook (loan_data.xlsx)").set_input_files(SAMPLE_LOANS)
    page.get_by_role("button", name="Upload and load the book").click()
    expect(page).to_have_url(re.compile(r"/console/operations/jobs/[\w-]+$"))
    expect(page.locator("progress#job-bar")).to_be_visible()
    expect(page.locator("#report")).to_be_visible(timeout=60_000)
    expect(page.locator("progress#job-bar")).to_have_attribute("value", "100")
    expect(page.locator("#report")).to_contain_text("customers")
    expect(page.get_by_role("heading", name="Rejected rows")).to_be_visible()


def test_sign_out(page: Page, site: Site) -> None:
    sign_in(page, site)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.goto("/console/operations")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next=%2Fconsole%2Foperations"))


def test_a_read_key_is_refused_every_write(page: Page, site: Site) -> None:
    customer_id = site.customer()
    loan_id = site.loan(customer_id)
    sign_in(page, site, site.read_key)
    expect(page.get_by_text("Signed in as auditor (read key)")).to_be_visible()
    expect(page.get_by_role("button", name="Register customer")).to_have_count(0)
    page.goto(f"/console/loans/{loan_id}")
    expect(page.get_by_role("button", name="Record payment")).to_have_count(0)
    page.goto(
        f"/console/apply?customer_id={customer_id}&loan_amount=1000&interest_rate=14&tenure=6"
    )
    expect(page.get_by_role("heading", name="Eligible")).to_be_visible()  # reading is allowed
    expect(page.get_by_role("button", name=re.compile("^Book"))).to_have_count(0)
    page.goto("/console/operations")
    expect(page.get_by_role("button", name="Upload and load the book")).to_have_count(0)
    expect(page.get_by_role("button", name="Close the day")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload and apply the payments")).to_have_count(0)
    # Sent anyway, with the page's own CSRF token, the server refuses each one.
    headers = json.loads(page.locator("body").get_attribute("hx-headers") or "{}")
    assert headers["x-csrftoken"]
    writes: list[tuple[str, dict[str, Any]]] = [
        (
            "/console/customers",
            {
                "first_name": "Read",
                "last_name": "Only",
                "age": "30",
                "monthly_income": "50000",
                "phone_number": "9555555555",
            },
        ),
        (
            "/console/apply",
            {"customer_id": customer_id, "loan_amount": 1000, "interest_rate": 14, "tenure": 6},
        ),
        (f"/console/loans/{loan_id}/payments", {"amount": "10661.85"}),
        (f"/console/loans/{loan_id}/reversals", {"payment_id": "1", "reason": "bounced"}),
        ("/console/operations/ingest", {}),
        ("/console/operations/collections", {}),
        ("/console/operations/close-day", {}),
    ]
    for path, form in writes:
        answer = page.request.post(path, form=form, headers=headers, max_redirects=0)
        assert answer.status == 403, (path, answer.status)
        assert "this operation needs write" in answer.text()
    assert len(site.api("GET", f"/api/view-loans/{customer_id}")) == 1
    assert site.api("GET", f"/api/view-statement/{customer_id}/{loan_id}")["payments"] == []
