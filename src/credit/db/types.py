"""Exact decimal columns that stay exact on SQLite too.

PostgreSQL stores `NUMERIC(p, s)` natively. SQLite has no decimal type (it would keep REAL
floats and sum them in floating point), so there the same column is an integer count of the
smallest unit (paise for money, 1/10,000 % for rates): exact storage and exact `SUM()`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, Dialect, Numeric
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator[Decimal]):
    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision=precision, scale=scale, asdecimal=True)
        self.scale = scale
        self._unit = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.impl_instance.precision, self.scale))  # type: ignore[attr-defined]

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(value).quantize(self._unit, rounding=ROUND_HALF_UP)
        if dialect.name == "sqlite":
            return int(exact.scaleb(self.scale))
        return exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(self._unit)


def Money() -> ExactDecimal:
    """Rupees with paise: NUMERIC(16, 2)."""
    return ExactDecimal(16, 2)


def Rate() -> ExactDecimal:
    """A yearly percentage with four decimals: NUMERIC(7, 4)."""
    return ExactDecimal(7, 4)
