"""Customer search: expression indexes on the lower-cased first and last names.

`GET /api/customers?name=` finds the names that start with a prefix, in any case, as a range
on `lower(name)`; these indexes serve that range. On PostgreSQL under the "C" collation (code
point order), where a prefix's names lie together whatever the database's own collation;
SQLite compares text in that order already.

Revision ID: 0009_customer_search
Revises: 0008_decisions
Create Date: 2026-12-07 01:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_customer_search"
down_revision: str | None = "0008_decisions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("first_name", "last_name")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for column in COLUMNS:
        key = f'lower({column}) COLLATE "C"' if postgres else f"lower({column})"
        op.execute(f"CREATE INDEX ix_customers_{column}_lower ON customers (({key}))")


def downgrade() -> None:
    for column in COLUMNS:
        op.execute(f"DROP INDEX ix_customers_{column}_lower")
