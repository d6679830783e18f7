"""The `customers` table."""

from __future__ import annotations

from decimal import Decimal

from advanced_alchemy.base import IdentityAuditBase
from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from credit.db.types import Money


class Customer(IdentityAuditBase):
    __tablename__ = "customers"
    __table_args__ = (Index("uq_customers_source_customer_id", "source_customer_id", unique=True),)

    # The file's `Customer ID` for a customer loaded from the workbooks; NULL for one registered
    # through the API, which an ingestion never overwrites (`credit.modules.ingest.plan`).
    source_customer_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    age: Mapped[int] = mapped_column(SmallInteger)
    phone_number: Mapped[int] = mapped_column(BigInteger, unique=True)
    monthly_income: Mapped[Decimal] = mapped_column(Money())
    approved_limit: Mapped[Decimal] = mapped_column(Money())
    # Raised by every booking for this customer: a booking books only if it is still the
    # version it read (optimistic booking, `credit.modules.loans.booking`).
    booking_version: Mapped[int] = mapped_column(Integer, server_default="0")
