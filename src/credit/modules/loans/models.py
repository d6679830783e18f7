"""The `loans` table, and `book_state`: the generation of the book as a whole.

A loan refers to its customer by foreign key only; the loans module reads customer columns
through the customers module's service, except in the one credit-summary query where a join
is what makes it a single statement.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from advanced_alchemy.base import IdentityAuditBase
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column

from credit.plugins.db_types import Money, Rate


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


# One row (id 1), absent until the first ingestion (read as generation 0). Every ingestion
# raises the generation, so a booking decided on the book before it cannot be booked after it.
BOOK_STATE = Table(
    "book_state",
    Loan.metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("generation", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("id = 1", name="single_row"),
)
