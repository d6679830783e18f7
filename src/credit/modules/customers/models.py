"""The `customers` table."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from advanced_alchemy.base import DefaultBase
from advanced_alchemy.mixins import AuditColumns
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import FromClause
from sqlalchemy.orm import Mapped

from credit.db.tables import customers_table


class Customer(AuditColumns, DefaultBase):
    """A customer: the columns are `credit.db.tables`' (shared with ingestion's writer)."""

    # Advanced Alchemy's metadata (Alembic's) and its UTC timestamps.
    __table__: ClassVar[FromClause] = customers_table(
        DefaultBase.metadata, DateTimeUTC(timezone=True)
    )

    id: Mapped[int]
    source_customer_id: Mapped[int | None]
    first_name: Mapped[str]
    last_name: Mapped[str]
    age: Mapped[int]
    phone_number: Mapped[int]
    monthly_income: Mapped[Decimal]
    approved_limit: Mapped[Decimal]
    booking_version: Mapped[int]
