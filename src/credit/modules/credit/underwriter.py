"""The underwriter: a credit decision or a score on a customer's book, by the lender's policy,
as of today.

One per request (`deps.py`), holding the loans service with the process's policy and today's
date: it reads the customer's book through the loans module's face and applies the pure
lending rules to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from credit.lending.policy import CreditPolicy, LoanRequest
from credit.lending.scoring import CreditScore, credit_score
from credit.lending.underwriting import ApplicationInputs, Assessment, assess
from credit.modules.loans.api import LoanService


@dataclass(frozen=True, slots=True)
class Underwriter:
    loans: LoanService
    policy: CreditPolicy
    today: date

    async def assess(self, customer_id: int, request: LoanRequest) -> Assessment:
        book = await self.loans.customer_book(customer_id, self.today)
        inputs = ApplicationInputs(book.history, book.monthly_income, book.current_emis, book.npa)
        return assess(inputs, request, self.policy)

    async def score(self, customer_id: int) -> CreditScore:
        book = await self.loans.customer_book(customer_id, self.today)
        return credit_score(book.history, self.policy)
