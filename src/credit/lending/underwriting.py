"""Assessing a loan request: the customer's score on their history, then the policy's
decision on the request. Pure: the loans module reads the book, the credit module's
underwriter and the booking desk call this on it.

`ApplicationInputs` is everything the policy reads of a customer (the credit history with the
limit and current amounts, the income and the current EMIs): an application record stores it
with the policy's numbers, so `assess` run again on a record gives the record's outcome.
"""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal
from typing import Any

import msgspec

from credit.lending.policy import Borrower, CreditPolicy, Decision, LoanRequest, decide
from credit.lending.scoring import CreditHistory, CreditScore, credit_score


class ApplicationInputs(msgspec.Struct, frozen=True):
    """What the policy reads of the customer when it decides."""

    history: CreditHistory
    monthly_income: Decimal
    current_emis: Decimal
    # NPA at the latest close of day (the `npa` reason).
    npa: bool = False

    @property
    def borrower(self) -> Borrower:
        return Borrower(
            monthly_income=self.monthly_income,
            approved_limit=self.history.approved_limit,
            current_loans_amount=self.history.current_loans_amount,
            current_emis=self.current_emis,
            npa=self.npa,
        )


class Assessment(msgspec.Struct, frozen=True):
    score: CreditScore
    decision: Decision


def assess(
    inputs: ApplicationInputs,
    request: LoanRequest,
    policy: CreditPolicy,
    *,
    rate_must_match: bool = False,
) -> Assessment:
    """Score the history and decide on the request (see `policy.decide` for the flag)."""
    score = credit_score(inputs.history, policy)
    decision = decide(
        score.score,
        inputs.borrower,
        request,
        policy,
        earned=score.earned,
        rate_must_match=rate_must_match,
    )
    return Assessment(score, decision)


def policy_numbers(policy: CreditPolicy) -> dict[str, int | Decimal]:
    """Every number of the policy, by name."""
    return {f.name: getattr(policy, f.name) for f in fields(policy)}


def policy_from_numbers(numbers: dict[str, Any]) -> CreditPolicy:
    """The policy whose numbers these are (as `policy_numbers` gave them, or their JSON)."""
    values: dict[str, int | Decimal] = {}
    for f in fields(CreditPolicy):
        if f.name in numbers:
            raw = numbers[f.name]
            values[f.name] = Decimal(str(raw)) if f.type == "Decimal" else int(raw)
    return CreditPolicy(**values)  # type: ignore[arg-type]
