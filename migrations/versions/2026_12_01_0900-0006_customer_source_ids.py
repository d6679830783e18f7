"""Customers remember the file `Customer ID` they were loaded with (`source_customer_id`).

An ingestion then updates only the customers it loaded, and a file row whose id is held by
a customer registered through the API gets a new id instead of overwriting that customer.

Customers already in the book are taken as loaded from the files when one of their loans was
(`source_loan_id` set), or when they were written in the same transaction as such a customer
(an ingestion stamps all its rows with one `created_at`); the rest as registered by the API.

Revision ID: 0006_customer_source_ids
Revises: 0005_booking_versions
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_customer_source_ids"
down_revision: str | None = "0005_booking_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_customer_id", sa.BigInteger(), nullable=True))
    # An index, not a constraint: SQLite adds it without rebuilding `customers`.
    op.create_index(
        "uq_customers_source_customer_id", "customers", ["source_customer_id"], unique=True
    )
    customers = sa.table(
        "customers",
        sa.column("id", sa.BigInteger()),
        sa.column("created_at", sa.DateTime()),
        sa.column("source_customer_id", sa.BigInteger()),
    )
    loans = sa.table(
        "loans", sa.column("customer_id", sa.BigInteger()), sa.column("source_loan_id")
    )
    loaded = sa.select(loans.c.customer_id).where(loans.c.source_loan_id.is_not(None))
    loaded_at = sa.select(customers.c.created_at).where(customers.c.id.in_(loaded))
    op.execute(
        customers.update()
        .where(customers.c.id.in_(loaded) | customers.c.created_at.in_(loaded_at))
        .values(source_customer_id=customers.c.id)
    )


def downgrade() -> None:
    op.drop_index("uq_customers_source_customer_id", table_name="customers")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("source_customer_id")
