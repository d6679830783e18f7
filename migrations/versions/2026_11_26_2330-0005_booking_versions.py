"""Optimistic booking: a booking version per customer and a generation for the whole book.

A booking reads the customer's book in one statement, decides, and then books with one
conditional statement that succeeds only if neither has moved since the read:
`customers.booking_version` (every booking raises it) and `book_state.generation` (every
ingestion raises it). See `credit.modules.loans.booking`.

`book_state` holds at most one row (id 1); until the first ingestion it holds none, which
reads as generation 0.

Revision ID: 0005_booking_versions
Revises: 0004_drop_customer_end_date
Create Date: 2026-11-26 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_booking_versions"
down_revision: str | None = "0004_drop_customer_end_date"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("booking_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "book_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_book_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_book_state")),
    )


def downgrade() -> None:
    op.drop_table("book_state")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("booking_version")
