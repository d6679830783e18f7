"""Join the two schema branches of this turn: customer search (0009) and the lender's day
(0010) were both written on 0008. No schema change: the console needs none.

Revision ID: 0011_console
Revises: 0009_customer_search, 0010_lenders_day
Create Date: 2026-12-07 02:00:00
"""

from collections.abc import Sequence

revision: str = "0011_console"
down_revision: str | tuple[str, ...] | None = ("0009_customer_search", "0010_lenders_day")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
