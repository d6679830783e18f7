"""What other modules may use of the loans module: its service and the loan application.

The import contract (pyproject.toml) lets a module reach another only through its `service`
or `api`; check-eligibility (credit module) takes the same body as create-loan.
"""

from __future__ import annotations

from credit.modules.loans.decisions import (
    DecisionPage,
    DecisionService,
    StoredDecision,
    provide_decisions,
)
from credit.modules.loans.schemas import LoanApplication
from credit.modules.loans.service import Assessment, CustomerLoans, LoanService, provide_loans

__all__ = [
    "Assessment",
    "CustomerLoans",
    "DecisionPage",
    "DecisionService",
    "LoanApplication",
    "LoanService",
    "StoredDecision",
    "provide_decisions",
    "provide_loans",
]
