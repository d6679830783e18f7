"""Drop the stand-alone index on loans.end_date: no query uses it.

Every query the API makes on loans filters by customer first (current loans, the credit
aggregate), which `ix_loans_customer_id_end_date` serves; the extra index only cost time on
every insert and about a second of every large book load.

Revision ID: 0003_drop_end_date_index
Revises: 0002_api_keys
Create Date: 2026-11-26 20:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_drop_end_date_index"
down_revision: str | None = "0002_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("ix_loans_end_date")


def downgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index("ix_loans_end_date", ["end_date"], unique=False)
