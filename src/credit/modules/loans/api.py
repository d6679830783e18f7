"""What other modules may use of the loans module: its service (the customer's book, the
customer with their current loans), the application records and the loan application.

The import contract (pyproject.toml) lets a module reach another only through its `service`
or `api`; check-eligibility (credit module) takes the same body as create-loan.
"""

from __future__ import annotations

from credit.modules.loans.decisions import DecisionPage, DecisionService, StoredDecision
from credit.modules.loans.schemas import LoanApplication
from credit.modules.loans.service import CustomerLoans, LoanService, StoredLoan

__all__ = [
    "CustomerLoans",
    "DecisionPage",
    "DecisionService",
    "LoanApplication",
    "LoanService",
    "StoredDecision",
    "StoredLoan",
]
