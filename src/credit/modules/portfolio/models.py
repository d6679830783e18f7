"""The closed dates, mapped for the portfolio's Advanced Alchemy service. The close of day's
tables are defined once in `credit.db.tables` and registered by the loans module, whose views
read them; this module reaches them through `loans.api`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from advanced_alchemy.base import DefaultBase
from sqlalchemy import FromClause
from sqlalchemy.orm import Mapped

from credit.modules.loans.api import CLOSED_DAYS


class ClosedDay(DefaultBase):
    __table__: ClassVar[FromClause] = CLOSED_DAYS

    as_of: Mapped[date]
    closed_at: Mapped[datetime]
    loans: Mapped[int]
    outstanding: Mapped[Decimal]
    outstanding_over_30: Mapped[Decimal]
    outstanding_over_90: Mapped[Decimal]
