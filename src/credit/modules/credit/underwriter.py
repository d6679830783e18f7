"""The underwriter: a credit decision or a score on a customer's book, by the lender's policy,
as of today.

One per request, given to the credit handlers by dependency injection, holding the loans
service with the process's policy and today's date. A handler then depends on it alone:
Litestar resolves the dependencies of one level (the session, the policy, the day) in a task
group of their own, a task each, which cost a credit decision more than its scoring does. The
policy and the clock are the app's (`credit.app`), given once to the provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from litestar.di import NamedDependency, Provide

from credit.clock import Clock
from credit.lending.policy import CreditPolicy, LoanRequest
from credit.lending.scoring import CreditScore
from credit.modules.loans.api import Assessment, LoanService


@dataclass(frozen=True, slots=True)
class Underwriter:
    loans: LoanService
    policy: CreditPolicy
    today: date

    async def assess(self, customer_id: int, request: LoanRequest) -> Assessment:
        return await self.loans.assess(customer_id, request, self.today, self.policy)

    async def score(self, customer_id: int) -> CreditScore:
        _, score = await self.loans.score(customer_id, self.today, self.policy)
        return score


def underwriter_provider(policy: CreditPolicy, clock: Clock) -> Provide:
    def provide_underwriter(loans: NamedDependency[LoanService]) -> Underwriter:
        return Underwriter(loans, policy, clock.today())

    return Provide(provide_underwriter, sync_to_thread=False)
