"""A client generated from the OpenAPI document (openapi-python-client) calls every operation
and gets typed answers: the contract's models on success, and one shared `ApiError` model
(with `FieldError`s in `extra`) for every error of every operation."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.conftest import TODAY
from tests.ingest_workbooks import SAMPLE_CUSTOMERS, SAMPLE_LOANS

Client = AsyncTestClient[Litestar]
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
async def generated(client: Client, tmp_path: Path) -> Iterator[ModuleType]:
    document = tmp_path / "openapi.json"
    document.write_text((await client.get("/schema/openapi.json")).text)
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ['PATH']}"}
    package = f"credit_client_{tmp_path.name.replace('-', '_').replace('[', '_').replace(']', '_')}"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"package_name_override": package}))
    await asyncio.to_thread(
        subprocess.run,
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(tmp_path / package),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=300,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(package)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.startswith(package)]:
            del sys.modules[name]


def operations(package: ModuleType) -> set[str]:
    root = Path(package.__file__ or "").parent / "api"
    return {
        f"{tag.name}.{module.stem}"
        for tag in root.iterdir()
        if tag.is_dir()
        for module in tag.glob("*.py")
        if module.stem != "__init__"
    }


def test_errors_are_one_shared_model(generated: ModuleType) -> None:
    models = Path(generated.__file__ or "").parent / "models"
    names = {path.stem for path in models.glob("*.py")}
    assert "api_error" in names
    assert "field_error" in names
    per_operation = sorted(n for n in names if "response_4" in n or "response_5" in n)
    assert per_operation == []


async def test_the_generated_client_calls_every_operation(
    generated: ModuleType, client: Client
) -> None:
    api = f"{generated.__name__}.api"
    models = importlib.import_module(f"{generated.__name__}.models")
    types = importlib.import_module(f"{generated.__name__}.types")
    sdk = importlib.import_module(generated.__name__).Client(base_url=str(client.base_url))
    sdk.set_async_httpx_client(client)
    called: set[str] = set()

    async def call(operation: str, **kwargs: Any) -> Any:
        called.add(operation)
        module = importlib.import_module(f"{api}.{operation}")
        return await module.asyncio_detailed(client=sdk, **kwargs)

    registered = await call(
        "customers.register_customer",
        body=models.RegisterCustomer(
            first_name="Aarav",
            last_name="Sharma",
            age=34,
            monthly_income=75_000,
            phone_number=9_876_543_210,
        ),
    )
    assert registered.status_code == 201
    assert isinstance(registered.parsed, models.RegisteredCustomer)
    customer_id = registered.parsed.customer_id

    refused = await call(
        "customers.register_customer",
        body=models.RegisterCustomer(
            first_name="\u200b",
            last_name="Sharma",
            age=34,
            monthly_income=75_000,
            phone_number=9_876_543_211,
        ),
    )
    assert refused.status_code == 400
    assert isinstance(refused.parsed, models.ApiError)
    assert isinstance(refused.parsed.extra[0], models.FieldError)
    assert refused.parsed.extra[0].key == "first_name"

    profile = await call("customers.get_customer", customer_id=customer_id)
    assert isinstance(profile.parsed, models.CustomerProfile)
    missing = await call("customers.get_customer", customer_id=424242)
    assert missing.status_code == 404
    assert isinstance(missing.parsed, models.ApiError)
    found = await call("customers.list_customers", name="sharma", limit=5)
    assert isinstance(found.parsed, models.CustomerList)
    assert [item.customer_id for item in found.parsed.items] == [customer_id]
    changed = await call(
        "customers.update_customer",
        customer_id=customer_id,
        body=models.CustomerChanges(age=35),
    )
    assert isinstance(changed.parsed, models.CustomerProfile)
    assert changed.parsed.age == 35
    taken = await call(
        "customers.register_customer",
        body=models.RegisterCustomer(
            first_name="Other",
            last_name="Sharma",
            age=34,
            monthly_income=75_000,
            phone_number=9_876_543_210,
        ),
        idempotency_key="register-other",
    )
    assert taken.status_code == 409
    assert isinstance(taken.parsed, models.ApiError)
    assert taken.parsed.extra["customer_id"] == customer_id

    score = await call("credit.get_credit_score", customer_id=customer_id)
    assert isinstance(score.parsed, models.CreditScoreReport)
    application = models.LoanApplication(
        customer_id=customer_id, loan_amount=500_000, interest_rate=10.5, tenure=24
    )
    eligibility = await call("credit.check_eligibility", body=application)
    assert isinstance(eligibility.parsed, models.Eligibility)
    assert eligibility.parsed.approval is True

    booked = await call("loans.create_loan", body=application)
    assert booked.status_code == 201
    assert isinstance(booked.parsed, models.CreatedLoan)
    assert booked.parsed.loan_approved is True
    loan_id = booked.parsed.loan_id
    too_much = models.LoanApplication(
        customer_id=customer_id, loan_amount=900_000, interest_rate=10.5, tenure=12
    )
    declined = await call("loans.create_loan", body=too_much)
    assert declined.status_code == 200
    assert isinstance(declined.parsed, models.CreatedLoan)
    assert declined.parsed.loan_approved is False
    assert [str(reason.code) for reason in declined.parsed.reasons] == ["emi_over_income_share"]
    record = await call("credit.get_decision", decision_id=declined.parsed.decision_id)
    assert isinstance(record.parsed, models.DecisionReport)
    assert record.parsed.approval is False
    records = await call("credit.list_customer_decisions", customer_id=customer_id, limit=1)
    assert isinstance(records.parsed, models.DecisionList)
    assert [item.decision_id for item in records.parsed.items] == [declined.parsed.decision_id]
    assert records.parsed.next_ == declined.parsed.decision_id  # `next` is a builtin

    loan = await call("loans.view_loan", loan_id=loan_id)
    assert isinstance(loan.parsed, models.LoanDetail)
    current = await call("loans.view_customer_loans", customer_id=customer_id)
    assert [type(item) for item in current.parsed] == [models.CurrentLoan]
    schedule = await call("loans.loan_schedule", loan_id=loan_id)
    assert isinstance(schedule.parsed, models.LoanSchedule)
    assert len(schedule.parsed.installments) == 24
    payment = models.PaymentRequest(amount=booked.parsed.monthly_installment)
    paid = await call("loans.make_payment", customer_id=customer_id, loan_id=loan_id, body=payment)
    assert paid.status_code == 201, paid.content
    assert isinstance(paid.parsed, models.PaymentReceipt)
    assert paid.parsed.installment == 1
    statement = await call("loans.view_statement", customer_id=customer_id, loan_id=loan_id)
    assert isinstance(statement.parsed, models.LoanStatement)
    assert [p.payment_id for p in statement.parsed.payments] == [paid.parsed.payment_id]
    reversed_ = await call(
        "loans.reverse_payment",
        customer_id=customer_id,
        loan_id=loan_id,
        payment_id=paid.parsed.payment_id,
        body=models.ReversalRequest(reason="returned unpaid"),
    )
    assert reversed_.status_code == 200, reversed_.content
    assert isinstance(reversed_.parsed, models.LoanStatement)
    assert reversed_.parsed.payments[0].reversed_ is True  # `reversed` is a builtin

    upload = models.BookUpload(
        customers=types.File(
            payload=SAMPLE_CUSTOMERS.open("rb"),
            file_name="customer_data.xlsx",
        ),
        loans=types.File(payload=SAMPLE_LOANS.open("rb"), file_name="loan_data.xlsx"),
    )
    started = await call("ingestion.start_ingestion", body=upload)
    assert started.status_code == 202, started.content
    assert isinstance(started.parsed, models.IngestAccepted)
    for _ in range(600):
        status = await call("ingestion.get_ingestion", job_id=started.parsed.job_id)
        assert isinstance(status.parsed, models.IngestStatus)
        if str(status.parsed.status) in ("complete", "failed"):
            break
        await asyncio.sleep(0.1)
    assert str(status.parsed.status) == "complete", status.content

    collected = models.CollectionsUpload(
        file=types.File(
            payload=(
                f"Reference,Customer ID,Loan ID,Amount,Paid On\n"
                f"C1,{customer_id},{loan_id},{booked.parsed.monthly_installment},{TODAY}\n"
            ).encode(),
            file_name="collections.csv",
        )
    )
    imported = await call("collections.import_payments", body=collected)
    assert imported.status_code == 202, imported.content
    closing = await call(
        "portfolio.close_day", body=models.CloseRequest(date=TODAY - timedelta(days=1))
    )
    assert closing.status_code == 202, closing.content
    for job_id in (imported.parsed.job_id, closing.parsed.job_id):
        for _ in range(600):
            job = await call("jobs.get_job", job_id=job_id)
            assert isinstance(job.parsed, models.JobStatus)
            if str(job.parsed.status) in ("complete", "failed"):
                break
            await asyncio.sleep(0.1)
        assert str(job.parsed.status) == "complete", job.content
    summary = await call("portfolio.portfolio")
    assert isinstance(summary.parsed, models.Portfolio)
    history = await call("portfolio.classification_history", loan_id=loan_id)
    assert isinstance(history.parsed, models.ClassificationHistory)

    for operation in ("operations.health", "operations.ready", "operations.metrics"):
        assert (await call(operation)).status_code == 200, operation

    assert called == operations(generated)
