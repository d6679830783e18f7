"""Decisions through the HTTP API, on both databases: every refusal gives its reasons (one
test per code, each on a book built for it), every create-loan answer has its record, and
the records page newest first by keyset in a constant number of statements."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.db.database import sqlalchemy_config
from credit.lending.policy import CreditPolicy
from credit.lending.underwriting import assess, policy_from_numbers
from credit.modules.loans.api import DecisionService
from credit.settings import Settings
from tests.conftest import empty_tables
from tests.integration.book import PastLoan, count_rows, seed_loans
from tests.integration.test_access import _delete_keys, _issue
from tests.integration.test_api_invariants import counting_statements, live_server
from tests.integration.test_api_loans import LATE_PAYER, LATE_PAYER_INCOME, application, register

Client = AsyncTestClient[Litestar]


async def refused(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    """create-loan refuses; check-eligibility gives the same reasons (except the rate's)."""
    answer = await client.post("/api/create-loan", json=body)
    assert answer.status_code == 200, answer.text
    created = answer.json()
    assert created["loan_approved"] is False
    assert created["loan_id"] is None
    assert created["reasons"]
    assert created["message"] == created["reasons"][0]["message"]
    record = (await client.get(f"/api/decisions/{created['decision_id']}")).json()
    assert record["reasons"] == created["reasons"]
    assert record["approval"] is False
    assert record["loan_id"] is None
    return created


def codes(answer: dict[str, Any]) -> list[str]:
    return [reason["code"] for reason in answer["reasons"]]


async def test_over_approved_limit_is_said_as_such(client: Client, settings: Settings) -> None:
    customer_id = await register(client, income=10_000)  # limit 4 lakh
    await seed_loans(
        # EMI 1,388.89: within half the income; only the amount is over the limit.
        settings.database_url,
        customer_id,
        [PastLoan(500_000, "0", 360, date(2025, 1, 1))],
    )
    answer = await refused(client, application(customer_id, loan_amount=1_000))
    assert codes(answer) == ["over_approved_limit", "over_limit_with_new_loan"]
    assert "500000.00" in answer["message"]
    assert "400000.00" in answer["message"]
    assert "is 10 or below" not in answer["message"]
    eligibility = await client.post("/api/check-eligibility", json=application(customer_id))
    assert codes(eligibility.json())[0] == "over_approved_limit"


async def test_score_too_low(client: Client, settings: Settings) -> None:
    customer_id = await register(client, income=30_000)  # limit 11 lakh
    history = [
        *(
            PastLoan(250_000, "13", 12, date(2005 + year, 3, 5), paid_on_time=0)
            for year in range(15)
        ),
        *(
            PastLoan(50_000, "15", 36, date(2025, month, 10), paid_on_time=0)
            for month in (1, 2, 3, 4)
        ),
    ]
    await seed_loans(settings.database_url, customer_id, history)
    answer = await refused(client, application(customer_id, loan_amount=10_000))
    assert codes(answer) == ["score_too_low"]
    score = (await client.get(f"/api/customers/{customer_id}/credit-score")).json()["credit_score"]
    assert answer["message"] == f"Credit score {score} is 10 or below; no loan can be approved."


async def test_rate_below_slab_on_create_loan_only(client: Client, settings: Settings) -> None:
    customer_id = await register(client, income=LATE_PAYER_INCOME)
    await seed_loans(settings.database_url, customer_id, LATE_PAYER)
    body = application(customer_id, interest_rate=8)
    answer = await refused(client, body)
    assert codes(answer) == ["rate_below_slab"]
    assert "Apply again at 16% or more" in answer["message"]
    offered = (await client.post("/api/check-eligibility", json=body)).json()
    assert offered["approval"] is True
    assert offered["reasons"] == []
    assert offered["corrected_interest_rate"] == 16


async def test_emi_over_income_share(client: Client) -> None:
    customer_id = await register(client, income=10_000)
    answer = await refused(client, application(customer_id, loan_amount=300_000))
    assert codes(answer) == ["emi_over_income_share"]
    assert answer["message"].startswith(
        "Monthly installments would come to 26654.64 (current 0.00 + this loan 26654.64)"
    )
    assert "5000.00 allowed" in answer["message"]


async def test_over_limit_with_new_loan(client: Client) -> None:
    customer_id = await register(client)  # limit 36 lakh
    body = application(customer_id, loan_amount=4_000_000, tenure=360)
    answer = await refused(client, body)
    assert codes(answer) == ["over_limit_with_new_loan"]
    assert "4000000.00" in answer["message"]
    assert "3600000.00" in answer["message"]


async def test_a_request_that_breaks_several_rules_gets_all_of_them(
    client: Client, settings: Settings
) -> None:
    customer_id = await register(client, income=LATE_PAYER_INCOME)
    await seed_loans(settings.database_url, customer_id, LATE_PAYER)
    body = application(customer_id, loan_amount=2_000_000, interest_rate=8, tenure=12)
    answer = await refused(client, body)
    assert codes(answer) == [
        "rate_below_slab",
        "emi_over_income_share",
        "over_limit_with_new_loan",
    ]
    checked = (await client.post("/api/check-eligibility", json=body)).json()
    assert codes(checked) == ["emi_over_income_share", "over_limit_with_new_loan"]


# --- application records ------------------------------------------------------------------------


async def test_an_approval_is_recorded_with_its_loan(
    client: Client, settings: Settings, today: date
) -> None:
    customer_id = await register(client)
    score = (await client.get(f"/api/customers/{customer_id}/credit-score")).json()
    booked = (await client.post("/api/create-loan", json=application(customer_id))).json()
    record = (await client.get(f"/api/decisions/{booked['decision_id']}")).json()
    decided_at = datetime.fromisoformat(record.pop("decided_at"))
    assert decided_at.utcoffset() is not None
    components = record.pop("components")
    policy = record.pop("policy")
    assert record == {
        "decision_id": booked["decision_id"],
        "customer_id": customer_id,
        "as_of": today.isoformat(),
        "request": {"loan_amount": 100_000, "interest_rate": 12, "tenure": 12},
        "approval": True,
        "loan_id": booked["loan_id"],
        "corrected_interest_rate": 12,
        "monthly_installment": 8884.88,
        "credit_score": 80,
        "reasons": [],
        "api_key_id": None,
    }
    assert components == score["components"]  # as the score stood when it was decided
    assert policy_from_numbers(policy) == CreditPolicy()
    assert set(policy) == set(CreditPolicy.__dataclass_fields__)
    assert (await client.get("/api/decisions/424242")).status_code == 404
    assert (await client.get("/api/decisions/0")).status_code == 400


async def test_a_replay_returns_the_same_decision_and_writes_nothing(
    client: Client, settings: Settings
) -> None:
    customer_id = await register(client, income=10_000)
    for body in (application(customer_id, loan_amount=1_000), application(customer_id)):
        headers = {"Idempotency-Key": f"apply-{body['loan_amount']}"}
        first = await client.post("/api/create-loan", json=body, headers=headers)
        again = await client.post("/api/create-loan", json=body, headers=headers)
        assert again.status_code == first.status_code
        assert again.json() == first.json()
    listed = (await client.get(f"/api/customers/{customer_id}/decisions")).json()
    assert [item["approval"] for item in listed["items"]] == [False, True]  # newest first
    assert await count_rows(settings.database_url) == (1, 1)


async def test_check_eligibility_records_nothing(client: Client) -> None:
    customer_id = await register(client)
    await client.post("/api/check-eligibility", json=application(customer_id))
    listed = (await client.get(f"/api/customers/{customer_id}/decisions")).json()
    assert listed == {"items": [], "next": None}
    assert (await client.get("/api/customers/424242/decisions")).status_code == 404


@pytest.fixture
async def keyed_client(settings: Settings, today: date) -> AsyncIterator[tuple[Client, int, str]]:
    secured = replace(
        settings, auth_required=True, rate_limit_per_second=0, rate_limit_anonymous_per_second=0
    )
    key_id, secret = await _issue(settings.database_url, "underwriting desk", "write")
    async with AsyncTestClient(app=create_app(secured, clock=FixedClock(today))) as client:
        yield client, key_id, secret
    await _delete_keys(settings.database_url)


async def test_the_record_names_the_key_that_applied(
    keyed_client: tuple[Client, int, str],
) -> None:
    client, key_id, secret = keyed_client
    headers = {"X-API-Key": secret}
    registered = await client.post(
        "/api/register",
        json={
            "first_name": "Asha",
            "last_name": "Verma",
            "age": 34,
            "monthly_income": 100_000,
            "phone_number": 9_876_543_210,
        },
        headers=headers,
    )
    customer_id = registered.json()["customer_id"]
    booked = await client.post("/api/create-loan", json=application(customer_id), headers=headers)
    decision_id = booked.json()["decision_id"]
    record = await client.get(f"/api/decisions/{decision_id}", headers=headers)
    assert record.json()["api_key_id"] == key_id


async def test_paging_is_keyset_newest_first_in_constant_statements(
    client: Client, settings: Settings
) -> None:
    few = await register(client, income=10_000, phone=9_000_000_011)
    many = await register(client, income=10_000, phone=9_000_000_012)
    for _ in range(2):
        await client.post("/api/create-loan", json=application(few, loan_amount=300_000))
    for _ in range(7):
        await client.post("/api/create-loan", json=application(many, loan_amount=300_000))

    async def page(customer_id: int, **params: Any) -> tuple[dict[str, Any], int]:
        with counting_statements() as statements:
            response = await client.get(f"/api/customers/{customer_id}/decisions", params=params)
        assert response.status_code == 200, response.text
        return response.json(), len(statements)

    first, first_count = await page(many, limit=3)
    ids = [item["decision_id"] for item in first["items"]]
    assert ids == sorted(ids, reverse=True)
    assert first["next"] == ids[-1]
    second, second_count = await page(many, limit=3, before=first["next"])
    third, third_count = await page(many, limit=3, before=second["next"])
    seen = ids + [i["decision_id"] for i in second["items"] + third["items"]]
    assert len(seen) == len(set(seen)) == 7
    assert third["next"] is None
    small, small_count = await page(few)
    assert len(small["items"]) == 2
    assert first_count == second_count == third_count == small_count == 1
    assert (await client.get(f"/api/customers/{many}/decisions?limit=0")).status_code == 400
    assert (await client.get(f"/api/customers/{many}/decisions?limit=101")).status_code == 400


async def test_rerunning_the_policy_on_stored_inputs_gives_each_records_outcome(
    client: Client, settings: Settings
) -> None:
    """A few hundred applications on histories of every kind; each record, assessed again from
    its stored inputs and policy numbers alone, gives its own outcome."""
    rng = random.Random(22)
    customers = []
    for n, (income, history) in enumerate(
        [
            (10_000, []),
            (LATE_PAYER_INCOME, LATE_PAYER),
            (50_000, [PastLoan(1_500_000, "11", 60, date(2024, 8, 1), paid_on_time=9)]),
            (100_000, [PastLoan(200_000, "10", 24, date(2023, 1, 15), paid_on_time=20)]),
            (20_000, [PastLoan(900_000, "12", 120, date(2024, 1, 1), paid_on_time=3)]),
        ]
    ):
        customer_id = await register(client, income=income, phone=9_100_000_000 + n)
        await seed_loans(settings.database_url, customer_id, history)
        customers.append(customer_id)
    answers = {}
    for _ in range(240):
        body = application(
            rng.choice(customers),
            loan_amount=rng.choice([5_000, 50_000, 200_000, 800_000, 2_500_000]),
            interest_rate=rng.choice([0, 8, 11.5, 12, 16, 24]),
            tenure=rng.choice([6, 12, 36, 120]),
        )
        answer = (await client.post("/api/create-loan", json=body)).json()
        answers[answer["decision_id"]] = answer
    alchemy = sqlalchemy_config(Settings(database_url=settings.database_url, sample_data_dir=None))
    stored = []
    try:
        async with DecisionService.new(config=alchemy) as decisions:
            for customer_id in customers:
                before = None
                while True:
                    page = await decisions.of_customer(customer_id, 100, before)
                    stored += page.items
                    if page.next is None:
                        break
                    before = page.next
    finally:
        await alchemy.get_engine().dispose()
    assert sorted(record.decision_id for record in stored) == sorted(answers)
    outcomes = set()
    for record in stored:
        again = assess(
            record.inputs, record.request, policy_from_numbers(record.policy), rate_must_match=True
        )
        answer = answers[record.decision_id]
        assert record.approval is answer["loan_approved"] is again.decision.approval
        assert record.reasons == again.decision.reasons
        assert [r["code"] for r in answer["reasons"]] == [r.code for r in record.reasons]
        assert record.credit_score == again.score.score
        assert record.components == again.score.components
        assert record.corrected_interest_rate == again.decision.corrected_interest_rate
        assert (record.loan_id is not None) is record.approval
        outcomes.add(tuple(r.code for r in record.reasons))
    assert len(outcomes) >= 4  # approvals and several kinds of refusal


# --- under concurrency (PostgreSQL) -------------------------------------------------------------


@pytest.mark.postgres
async def test_fifty_concurrent_applications_are_each_recorded_as_answered(
    postgres_url: str, today: date
) -> None:
    settings = Settings(database_url=postgres_url, sample_data_dir=None)
    try:
        async with (
            live_server(create_app(settings, clock=FixedClock(today))) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=60) as http,
        ):
            registered = await http.post(
                "/api/register",
                json={
                    "first_name": "Asha",
                    "last_name": "Verma",
                    "age": 34,
                    "monthly_income": 100_000,
                    "phone_number": 9_876_543_219,
                },
            )
            customer_id = registered.json()["customer_id"]
            # EMI 22,244.45 each: only two fit in 50 % of the income.
            body = application(customer_id, loan_amount=1_000_000, interest_rate=12, tenure=60)
            responses = await asyncio.gather(
                *(http.post("/api/create-loan", json=body) for _ in range(50))
            )
            answers = {r.json()["decision_id"]: r.json() for r in responses}
            listed = (
                await http.get(f"/api/customers/{customer_id}/decisions", params={"limit": 100})
            ).json()
            current = (await http.get(f"/api/view-loans/{customer_id}")).json()
    finally:
        await empty_tables(postgres_url)
    assert len(answers) == 50
    records = {item["decision_id"]: item for item in listed["items"]}
    assert set(records) == set(answers)
    for decision_id, answer in answers.items():
        record = records[decision_id]
        assert record["approval"] is answer["loan_approved"]
        assert record["loan_id"] == answer["loan_id"]
        assert record["reasons"] == answer["reasons"]
    approved = [a for a in answers.values() if a["loan_approved"]]
    assert len(approved) == 2
    assert sorted(loan["loan_id"] for loan in current) == sorted(a["loan_id"] for a in approved)
    assert sum(loan["monthly_installment"] for loan in current) <= 50_000


async def test_an_unknown_query_parameter_is_refused(client: Client) -> None:
    customer_id = await register(client)
    response = await client.get(f"/api/customers/{customer_id}/decisions?befor=3")
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "befor"
