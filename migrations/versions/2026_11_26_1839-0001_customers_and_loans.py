"""Customers and loans: the two tables of the book, with the indexes the API queries use.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 18:39:10.192420
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

import credit.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False, start=1, increment=1),
            nullable=False,
        ),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("age", sa.SmallInteger(), nullable=False),
        sa.Column("phone_number", sa.BigInteger(), nullable=False),
        sa.Column(
            "monthly_income",
            credit.db.types.ExactDecimal(precision=16, scale=2),
            nullable=False,
        ),
        sa.Column(
            "approved_limit",
            credit.db.types.ExactDecimal(precision=16, scale=2),
            nullable=False,
        ),
        sa.Column(
            "created_at", DateTimeUTC(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", DateTimeUTC(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("phone_number", name=op.f("uq_customers_phone_number")),
    )
    op.create_table(
        "loans",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False, start=1, increment=1),
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("source_loan_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "loan_amount",
            credit.db.types.ExactDecimal(precision=16, scale=2),
            nullable=False,
        ),
        sa.Column("tenure", sa.SmallInteger(), nullable=False),
        sa.Column(
            "interest_rate",
            credit.db.types.ExactDecimal(precision=7, scale=4),
            nullable=False,
        ),
        sa.Column(
            "monthly_installment",
            credit.db.types.ExactDecimal(precision=16, scale=2),
            nullable=False,
        ),
        sa.Column("emis_paid_on_time", sa.SmallInteger(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column(
            "created_at", DateTimeUTC(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", DateTimeUTC(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_loans_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loans_customer_id_end_date", ["customer_id", "end_date"], unique=False
        )
        batch_op.create_index("ix_loans_end_date", ["end_date"], unique=False)
        batch_op.create_index(
            "uq_loans_customer_id_source_loan_id", ["customer_id", "source_loan_id"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index("uq_loans_customer_id_source_loan_id")
        batch_op.drop_index("ix_loans_end_date")
        batch_op.drop_index("ix_loans_customer_id_end_date")

    op.drop_table("loans")
    op.drop_table("customers")
