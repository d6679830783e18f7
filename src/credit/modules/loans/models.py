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

from advanced_alchemy.base import IdentityAuditBase, IdentityBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
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

from credit.db.types import Money, Rate


class Loan(IdentityAuditBase):
    __tablename__ = "loans"
    __table_args__ = (
        # An ingested row is identified by its customer and the file's Loan ID. Leading with the
        # customer and holding every loan (API-booked ones have a NULL source id), it is also
        # the index of every per-customer read: current loans, the credit aggregate.
        Index("uq_loans_customer_id_source_loan_id", "customer_id", "source_loan_id", unique=True),
    )

    customer_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("customers.id", ondelete="RESTRICT"),
    )
    # The `Loan ID` of the ingested file; NULL for loans booked through the API.
    source_loan_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    loan_amount: Mapped[Decimal] = mapped_column(Money())
    tenure: Mapped[int] = mapped_column(SmallInteger)
    interest_rate: Mapped[Decimal] = mapped_column(Rate())
    monthly_installment: Mapped[Decimal] = mapped_column(Money())
    # NULL for API-booked loans: the service has no payment records for them yet.
    emis_paid_on_time: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)

    # Servicing state. Every default means "nothing has happened since the loan was booked or
    # loaded", so a booking writes none of them and a load writes only the first two.
    # The day the files' record of this loan was taken; NULL for loans booked through the API.
    loaded_on: Mapped[date | None] = mapped_column(Date, default=None)
    # `s`: installments settled, by the files (those due on or before `loaded_on`) or by a
    # payment. The next payment settles installment s + 1.
    installments_settled: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    # Installments settled by a payment on or before their due date (the score's count after
    # loading; `emis_paid_on_time` keeps the files' count before it).
    installments_paid_on_time: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    # `B`, written by every payment. NULL until the first one: then `B` is the formula
    # schedule's balance after `installments_settled` (the loan amount for a booked loan).
    outstanding_principal: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    # `e`, written by every payment (0 once paid off). NULL until the first one: then `e` is
    # `monthly_installment` (the booked EMI, or the file's `Monthly payment`).
    current_emi: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    # The date of the latest payment: a payment may not be dated before it.
    last_paid_on: Mapped[date | None] = mapped_column(Date, default=None)


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


# One row (id 1), absent until the first ingestion (read as generation 0). Every ingestion
# raises the generation, so a booking decided on the book before it cannot be booked after it.
BOOK_STATE = Table(
    "book_state",
    Loan.metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("generation", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("id = 1", name="single_row"),
)
