"""One truth per loan, on both databases: random bookings, payments, loaded loans and days
passing, and after every step each view of every loan (view-loan, view-loans, the schedule,
the statement, the profile's sums and the credit aggregate) gives the same figures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from credit.app import create_app
from credit.lending.amortization import monthly_installment
from credit.modules.loans.api import LoanService
from credit.settings import Settings
from tests.conftest import TODAY, in_own_loop
from tests.integration.book import PastLoan, seed_loans

PAISA = Decimal("0.01")


@dataclass
class MovingClock:
    """The app's clock, moved on by the test: days pass between steps."""

    day: date = TODAY

    def today(self) -> date:
        return self.day


def body(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return json.loads(response.content, parse_float=Decimal, parse_int=Decimal)


async def aggregate(url: str, customer_id: int, today: date) -> Any:
    """The credit aggregate behind every decision, read as the underwriter reads it."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with async_sessionmaker(engine)() as session:
            return await LoanService(session=session).customer_book(customer_id, today)
    finally:
        await engine.dispose()


def run_machine(url: str) -> None:
    clock = MovingClock()
    app = create_app(Settings(database_url=url, sample_data_dir=None), clock=clock)
    phones = iter(range(9_500_000_000, 9_600_000_000))

    class OneTruth(RuleBasedStateMachine):
        loans = Bundle("loans")

        def __init__(self) -> None:
            super().__init__()
            clock.day = TODAY
            self.client = client
            self.loan_ids: list[int] = []

        @initialize(
            target=loans,
            recorded_extra=st.sampled_from([Decimal(0), Decimal(0), Decimal("137.50")]),
            months_ago=st.integers(1, 30),
            on_time=st.integers(0, 40),
        )
        def customer_with_a_loaded_loan(
            self, recorded_extra: Decimal, months_ago: int, on_time: int
        ) -> int:
            registered = self.client.post(
                "/api/register",
                json={
                    "first_name": "Asha",
                    "last_name": "Verma",
                    "age": 34,
                    "monthly_income": 200_000,
                    "phone_number": next(phones),
                },
            )
            self.customer_id = int(registered.json()["customer_id"])
            start = TODAY - timedelta(days=30 * months_ago + 3)
            formula = monthly_installment(Decimal(300_000), Decimal(11), 24)
            loaded = PastLoan(
                300_000,
                "11",
                24,
                start,
                paid_on_time=on_time,
                recorded_emi=formula + recorded_extra,
            )
            (loan_id,) = in_own_loop(seed_loans(url, self.customer_id, [loaded]))
            self.loan_ids.append(loan_id)
            return loan_id

        @rule(
            target=loans,
            amount=st.sampled_from([20_000, 75_000, 250_000]),
            rate=st.sampled_from([0, 10, 12.5]),
            tenure=st.integers(2, 18),
        )
        def book(self, amount: int, rate: float, tenure: int) -> int:
            response = self.client.post(
                "/api/create-loan",
                json={
                    "customer_id": self.customer_id,
                    "loan_amount": amount,
                    "interest_rate": rate,
                    "tenure": tenure,
                },
            )
            assert response.status_code in (200, 201), response.text
            loan_id = response.json()["loan_id"]
            if loan_id is None:
                return self.loan_ids[0]
            self.loan_ids.append(loan_id)
            return int(loan_id)

        @rule(loan_id=loans, kind=st.sampled_from(["emi", "short", "more", "payoff"]))
        def pay(self, loan_id: int, kind: str) -> None:
            statement = body(self.client.get(f"/api/view-statement/{self.customer_id}/{loan_id}"))
            balance = statement["outstanding_principal"]
            if balance == 0:
                return
            rate = statement["interest_rate"] / 1200
            interest = (balance * rate).quantize(PAISA, rounding=ROUND_HALF_UP)
            emi = statement["monthly_installment"]
            amount = {
                "emi": emi,
                "short": interest + ((emi - interest) / 2).quantize(PAISA),
                "more": emi * 2,
                "payoff": balance + interest,
            }[kind]
            amount = max(min(amount, balance + interest), interest + PAISA)
            response = self.client.post(
                f"/api/make-payment/{self.customer_id}/{loan_id}", json={"amount": float(amount)}
            )
            if response.status_code == 422:  # the last installment must be the payoff
                assert "payoff" in response.text, response.text
                return
            assert response.status_code == 201, response.text

        @rule(days=st.integers(1, 75))
        def days_pass(self, days: int) -> None:
            clock.day += timedelta(days=days)

        @invariant()
        def every_view_agrees(self) -> None:
            if not hasattr(self, "customer_id"):
                return
            customer_id = self.customer_id
            current = {
                int(loan["loan_id"]): loan
                for loan in body(self.client.get(f"/api/view-loans/{customer_id}"))
            }
            profile = body(self.client.get(f"/api/customers/{customer_id}"))
            debt, emis, amounts = Decimal(0), Decimal(0), Decimal(0)
            for loan_id in self.loan_ids:
                detail = body(self.client.get(f"/api/view-loan/{loan_id}"))
                statement = body(self.client.get(f"/api/view-statement/{customer_id}/{loan_id}"))
                schedule = body(self.client.get(f"/api/loans/{loan_id}/schedule"))
                e, left = detail["monthly_installment"], detail["repayments_left"]
                balance = detail["outstanding_principal"]
                assert statement["monthly_installment"] == e
                assert schedule["monthly_installment"] == e
                assert statement["repayments_left"] == left
                assert statement["outstanding_principal"] == balance
                assert statement["days_past_due"] == detail["days_past_due"]
                settled = [i for i in schedule["installments"] if "settled_by" in i]
                planned = [i for i in schedule["installments"] if "settled_by" not in i]
                assert len(planned) == left
                assert (settled[-1]["balance"] if settled else detail["loan_amount"]) == balance
                if detail["status"] == "current":
                    assert left > 0
                    assert balance > 0
                    shown = current.pop(loan_id)
                    assert shown["monthly_installment"] == e
                    assert shown["repayments_left"] == left
                    assert shown["loan_amount"] == detail["loan_amount"]
                    debt, emis = debt + balance, emis + e
                    amounts += detail["loan_amount"]
                else:
                    assert (left, balance) == (0, 0)
                    assert statement["next_due_date"] is None
            assert current == {}  # no current loan the views above did not show
            assert profile["current_debt"] == debt
            assert profile["current_emis"] == emis
            book = in_own_loop(aggregate(url, customer_id, clock.day))
            assert book.current_emis == emis
            assert book.history.current_loans_amount == amounts
            assert book.history.loans_taken == len(self.loan_ids)

    with TestClient(app=app) as client:
        run_state_machine_as_test(
            OneTruth,
            settings=hypothesis_settings(
                max_examples=12,
                stateful_step_count=10,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )


def test_every_view_of_a_loan_shows_the_same_figures(settings: Settings) -> None:
    run_machine(settings.database_url)
