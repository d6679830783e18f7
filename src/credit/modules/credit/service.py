"""Credit assessment: the score and the policy decision for one customer and one request.

It reads the customer's book with the loans module's single aggregate query and applies the
pure scoring and policy functions; it never writes.
"""

from __future__ import annotations

from datetime import date

import msgspec

from credit.lending.policy import Borrower, CreditPolicy, Decision, LoanRequest, decide
from credit.lending.scoring import CreditScore, credit_score
from credit.modules.loans.book import CustomerBook
from credit.modules.loans.service import LoanService


class Assessment(msgspec.Struct, frozen=True):
    book: CustomerBook
    score: CreditScore
    decision: Decision


class CreditService:
    def __init__(self, loans: LoanService, policy: CreditPolicy) -> None:
        self.loans = loans
        self.policy = policy

    async def score(self, customer_id: int, today: date) -> tuple[CustomerBook, CreditScore]:
        book = await self.loans.customer_book(customer_id, today)
        return book, credit_score(book.history, self.policy)

    async def assess(self, customer_id: int, request: LoanRequest, today: date) -> Assessment:
        book, score = await self.score(customer_id, today)
        borrower = Borrower(
            monthly_income=book.monthly_income,
            approved_limit=book.approved_limit,
            current_loans_amount=book.history.current_loans_amount,
            current_emis=book.current_emis,
        )
        return Assessment(book, score, decide(score.score, borrower, request, self.policy))
