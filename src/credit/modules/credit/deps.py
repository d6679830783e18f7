"""The credit module's providers, registered by its plugin: the underwriter.

One per request, holding the loans service with the process's policy and today's date. A
handler then depends on it alone: Litestar resolves the dependencies of one level (the
session, the policy, the day) in a task group of their own, a task each, which cost a credit
decision more than its scoring does.
"""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from credit.clock import Clock
from credit.lending.policy import CreditPolicy
from credit.modules.credit.underwriter import Underwriter
from credit.modules.loans.api import LoanService


def dependencies(policy: CreditPolicy, clock: Clock) -> dict[str, Provide]:
    def provide_underwriter(loans: NamedDependency[LoanService]) -> Underwriter:
        return Underwriter(loans, policy, clock.today())

    return {"underwriter": Provide(provide_underwriter, sync_to_thread=False)}
