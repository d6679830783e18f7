"""Assessing a loan request: the customer's score on their history, then the policy's
decision on the request. Pure: the loans module reads the book, the credit module's
underwriter and the booking desk call this on it."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from credit.lending.policy import Borrower, CreditPolicy, Decision, LoanRequest, decide
from credit.lending.scoring import CreditHistory, CreditScore, credit_score


class Assessment(msgspec.Struct, frozen=True):
    score: CreditScore
    decision: Decision


def assess(
    history: CreditHistory,
    monthly_income: Decimal,
    current_emis: Decimal,
    request: LoanRequest,
    policy: CreditPolicy,
) -> Assessment:
    """The score and the policy's decision on one request."""
    score = credit_score(history, policy)
    borrower = Borrower(
        monthly_income=monthly_income,
        approved_limit=history.approved_limit,
        current_loans_amount=history.current_loans_amount,
        current_emis=current_emis,
    )
    return Assessment(score, decide(score.score, borrower, request, policy))
