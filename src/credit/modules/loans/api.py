"""What other modules may use of the loans module: its service (the customer's book, the
customer with their current loans, the close of day's read of the book), the application
records, the loan application, the close of day's tables (the loans' views read them; the
portfolio module writes them), the collected payments' rule, the booking and payment desks
with their idempotent writes, and the answers the API gives (the console shows the same
figures the API does).

The import contract (pyproject.toml) lets a module reach another only through its `service`
or `api`; check-eligibility (credit module) takes the same body as create-loan.
"""

from __future__ import annotations

from credit.modules.loans.booking import Booking, BookingDesk
from credit.modules.loans.decisions import DecisionPage, DecisionService, StoredDecision
from credit.modules.loans.models import (
    CLASSIFICATION_PERIODS,
    CLOSED_DAYS,
    LOAN_CLASSIFICATIONS,
    PORTFOLIO_DAYS,
)
from credit.modules.loans.payment_schemas import (
    LoanStatement,
    PaymentReceipt,
    PaymentRequest,
    ReversalRequest,
    statement_of,
)
from credit.modules.loans.payments import Collected, CollectedPayment, PaymentDesk, collect
from credit.modules.loans.schemas import CreatedLoan, LoanApplication, LoanDetail, LoanSchedule
from credit.modules.loans.service import (
    BookLoan,
    CurrentLoans,
    CustomerLoans,
    LoanService,
    StoredLoan,
)

__all__ = [
    "CLASSIFICATION_PERIODS",
    "CLOSED_DAYS",
    "LOAN_CLASSIFICATIONS",
    "PORTFOLIO_DAYS",
    "BookLoan",
    "Booking",
    "BookingDesk",
    "Collected",
    "CollectedPayment",
    "CreatedLoan",
    "CurrentLoans",
    "CustomerLoans",
    "DecisionPage",
    "DecisionService",
    "LoanApplication",
    "LoanDetail",
    "LoanSchedule",
    "LoanService",
    "LoanStatement",
    "PaymentDesk",
    "PaymentReceipt",
    "PaymentRequest",
    "ReversalRequest",
    "StoredDecision",
    "StoredLoan",
    "collect",
    "statement_of",
]
