"""The `loans` table with its servicing state, the `payments` that settled installments,
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
from typing import ClassVar

from advanced_alchemy.base import DefaultBase, IdentityBase
from advanced_alchemy.mixins import AuditColumns
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    FromClause,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from credit.db.tables import book_state_table, loans_table
from credit.db.types import Money


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
        # One payment per installment: a second settlement of the same one cannot be stored.
        # Leading with the loan, it is also the index of a statement's payments, oldest first.
        UniqueConstraint("loan_id", "installment", name="uq_payments_loan_id_installment"),
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
    created_at: Mapped[datetime] = mapped_column(
        DateTimeUTC(timezone=True), server_default=func.now()
    )


# The answer to each write that came with an `Idempotency-Key`, stored in the same transaction
# as the write itself: a retry with the same key and body gets this answer back and writes
# nothing, the same key with another body is refused. `scope` is the operation and the caller
# (keys are the client's own, so two callers may pick the same one); `fingerprint` a SHA-256
# of the request (method, path, body). Kept at least 24 hours: rows older than that may be
# purged by `created_at`.
IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    Loan.metadata,
    Column("scope", String(100), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("response_status", SmallInteger, nullable=False),
    Column("response_body", LargeBinary, nullable=False),
    Column("created_at", DateTimeUTC(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("scope", "key"),
    Index("ix_idempotency_keys_created_at", "created_at"),
)


# `credit.db.tables.book_state_table`: the generation of the book as a whole.
BOOK_STATE = book_state_table(Loan.metadata)
