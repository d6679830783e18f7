"""What other modules may use of the credit module: the underwriter (a decision or a score on
a customer's book, as the API gives them) and the answers it shapes."""

from __future__ import annotations

from credit.modules.credit.schemas import CreditScoreReport, DecisionList, Eligibility
from credit.modules.credit.underwriter import Underwriter

__all__ = ["CreditScoreReport", "DecisionList", "Eligibility", "Underwriter"]
