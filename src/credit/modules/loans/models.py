"""The `loans` table with its servicing state, the `payments` that settled installments,
`decisions` (the record of every create-loan application and its outcome),
`idempotency_keys` (the answers of writes a client may retry), and `book_state`: the
generation of the book as a whole.

A loan refers to its customer by foreign key only; the loans module reads customer columns
through the customers module's service, except in the one credit-summary query where a join
is what makes it a single statement. A loan row holds its servicing state (`B`, `s`, `e`; see
`credit.lending.servicing`), so every read is one statement however many payments it has.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from advanced_alchemy.base import DefaultBase, IdentityBase
from advanced_alchemy.mixins import AuditColumns
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    FromClause,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from credit.db.tables import (
    book_state_table,
    classification_periods_table,
    closed_days_table,
    loan_classifications_table,
    loans_table,
    portfolio_days_table,
)
from credit.db.types import Money, Rate
from credit.idempotency import IDEMPOTENCY_KEYS as IDEMPOTENCY_KEYS


class Loan(AuditColumns, DefaultBase):
    """A loan: the columns are `credit.db.tables`' (shared with ingestion's writer)."""

    # Advanced Alchemy's metadata (Alembic's) and its UTC timestamps.
    __table__: ClassVar[FromClause] = loans_table(DefaultBase.metadata, DateTimeUTC(timezone=True))

    id: Mapped[int]
    customer_id: Mapped[int]
    source_loan_id: Mapped[int | None]
    loan_amount: Mapped[Decimal]
    tenure: Mapped[int]
    interest_rate: Mapped[Decimal]
    monthly_installment: Mapped[Decimal]
    emis_paid_on_time: Mapped[int | None]
    on_time_at_load: Mapped[int | None]
    start_date: Mapped[date]
    end_date: Mapped[date]
    loaded_on: Mapped[date | None]
    installments_settled: Mapped[int]
    installments_paid_on_time: Mapped[int]
    outstanding_principal: Mapped[Decimal | None]
    current_emi: Mapped[Decimal | None]
    last_paid_on: Mapped[date | None]


class Payment(IdentityBase):
    """One payment: the installment it settled and how it split. Never updated or deleted
    (re-loading the files leaves payments as they are)."""

    __tablename__ = "payments"
    __table_args__ = (
        # One standing payment per installment: a second settlement of the same one cannot be
        # stored, but a reversed payment's installment can be settled again. Leading with the
        # loan, it is also the index of a statement's payments, oldest first.
        Index(
            "uq_payments_loan_id_installment_standing",
            "loan_id",
            "installment",
            unique=True,
            postgresql_where=text("reversed_on IS NULL"),
            sqlite_where=text("reversed_on IS NULL"),
        ),
        Index("ix_payments_loan_id_installment", "loan_id", "installment"),
        # The bank's transaction reference: a collections file's row applies once.
        Index("uq_payments_reference", "reference", unique=True),
        # The close of day reads the payments dated after the day it closes.
        Index("ix_payments_paid_on", "paid_on"),
        CheckConstraint("installment >= 1", name="installment_positive"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("interest >= 0", name="interest_not_negative"),
        CheckConstraint("principal >= 0", name="principal_not_negative"),
        CheckConstraint("balance >= 0", name="balance_not_negative"),
    )

    loan_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("loans.id", ondelete="RESTRICT"),
    )
    installment: Mapped[int] = mapped_column(SmallInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    interest: Mapped[Decimal] = mapped_column(Money())
    principal: Mapped[Decimal] = mapped_column(Money())
    # The outstanding principal after this payment.
    balance: Mapped[Decimal] = mapped_column(Money())
    on_time: Mapped[bool] = mapped_column(Boolean)
    # The bank's transaction reference (collections); NULL for a payment made through the API.
    reference: Mapped[str | None] = mapped_column(String(64), default=None)
    # The loan's state before this payment (`B`, `e` and the last payment's date; `s` is
    # `installment - 1`), so a reversal restores it exactly (`credit.lending.reversal`).
    before_outstanding_principal: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    before_current_emi: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    before_last_paid_on: Mapped[date | None] = mapped_column(Date, default=None)
    # A reversed payment (it bounced) stays on the statement and counts nowhere else.
    reversed_on: Mapped[date | None] = mapped_column(Date, default=None)
    reversal_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(
        DateTimeUTC(timezone=True), server_default=func.now()
    )


# A record's structured parts: JSONB on PostgreSQL (queryable), JSON text on SQLite.
JsonB = JSON().with_variant(JSONB(), "postgresql")


class DecisionRecord(IdentityBase):
    """One create-loan application and what was decided, with everything needed to decide it
    again: the customer's figures the policy read (`inputs`), the policy's numbers in force,
    the score's components and the reasons. Written with the loan it booked (one
    transaction), or alone when refused; never updated or deleted."""

    __tablename__ = "decisions"
    __table_args__ = (
        # A customer's decisions, newest first, paged by id (keyset).
        Index("ix_decisions_customer_id_id", "customer_id", "id"),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("customers.id", ondelete="RESTRICT"),
    )
    decided_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    # The lender's date the decision was made for (the book as of that day).
    as_of: Mapped[date] = mapped_column(Date)
    loan_amount: Mapped[Decimal] = mapped_column(Money())
    interest_rate: Mapped[Decimal] = mapped_column(Rate())
    tenure: Mapped[int] = mapped_column(SmallInteger)
    approval: Mapped[bool] = mapped_column(Boolean)
    loan_id: Mapped[int | None] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("loans.id", ondelete="RESTRICT"),
        default=None,
        unique=True,
    )
    corrected_interest_rate: Mapped[Decimal] = mapped_column(Rate())
    monthly_installment: Mapped[Decimal] = mapped_column(Money())
    credit_score: Mapped[int] = mapped_column(SmallInteger)
    # The API key that applied; NULL when the API is open. Kept as the id it was (keys are
    # revoked, never deleted), without a foreign key a key's history would have to honour.
    api_key_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    inputs: Mapped[dict[str, Any]] = mapped_column(JsonB)
    components: Mapped[list[Any]] = mapped_column(JsonB)
    reasons: Mapped[list[Any]] = mapped_column(JsonB)
    policy: Mapped[dict[str, Any]] = mapped_column(JsonB)


# `idempotency_keys` is defined with the machinery that writes it, shared by the modules.


# `credit.db.tables.book_state_table`: the generation of the book as a whole.
BOOK_STATE = book_state_table(Loan.metadata)


# The close of day's records (`credit.db.tables`): each loan at the latest close (read by the
# loan's views and the customer's book), its classification history, the closed dates and
# the portfolio summary of each. Written by the portfolio module through `loans.api`.
LOAN_CLASSIFICATIONS = loan_classifications_table(Loan.metadata)
CLASSIFICATION_PERIODS = classification_periods_table(Loan.metadata)
CLOSED_DAYS = closed_days_table(Loan.metadata, DateTimeUTC(timezone=True))
PORTFOLIO_DAYS = portfolio_days_table(Loan.metadata)
