"""Decisions: the per-loan cap of the files' on-time count, and application records.

`loans` gains `on_time_at_load`: the files' `EMIs paid on Time`, never more than the
installments due on the loan on the day it was loaded. Loans already loaded are brought under
the rule here (`amortization.installments_due` at `loaded_on`, the rule ingestion applies).
`decisions` records every create-loan application with its outcome, the customer's figures
the policy read, the policy's numbers in force and the API key that applied.

Revision ID: 0008_decisions
Revises: 0007_servicing
Create Date: 2026-12-06 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

import credit.db.types
from credit.lending.amortization import installments_due

revision: str = "0008_decisions"
down_revision: str | None = "0007_servicing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000
JsonB = sa.JSON().with_variant(JSONB(), "postgresql")


def _money() -> credit.db.types.ExactDecimal:
    return credit.db.types.ExactDecimal(precision=16, scale=2)


def _rate() -> credit.db.types.ExactDecimal:
    return credit.db.types.ExactDecimal(precision=7, scale=4)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_time_at_load", sa.SmallInteger(), nullable=True))
    _cap_loaded_on_time()
    op.create_table(
        "decisions",
        sa.Column("id", _id(), sa.Identity(always=False, start=1, increment=1), nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("decided_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("loan_amount", _money(), nullable=False),
        sa.Column("interest_rate", _rate(), nullable=False),
        sa.Column("tenure", sa.SmallInteger(), nullable=False),
        sa.Column("approval", sa.Boolean(), nullable=False),
        sa.Column("loan_id", _id(), nullable=True),
        sa.Column("corrected_interest_rate", _rate(), nullable=False),
        sa.Column("monthly_installment", _money(), nullable=False),
        sa.Column("credit_score", sa.SmallInteger(), nullable=False),
        sa.Column("api_key_id", sa.BigInteger(), nullable=True),
        sa.Column("inputs", JsonB, nullable=False),
        sa.Column("components", JsonB, nullable=False),
        sa.Column("reasons", JsonB, nullable=False),
        sa.Column("policy", JsonB, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_decisions_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_decisions_loan_id_loans"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("loan_id", name=op.f("uq_decisions_loan_id")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index("ix_decisions_customer_id_id", ["customer_id", "id"], unique=False)


def _cap_loaded_on_time() -> None:
    """Each loaded loan's on-time count, capped at the installments due on it when it was
    loaded. In batches by id, so a large book is not held in memory at once."""
    loans = sa.table(
        "loans",
        sa.column("id", sa.BigInteger()),
        sa.column("tenure", sa.SmallInteger()),
        sa.column("start_date", sa.Date()),
        sa.column("loaded_on", sa.Date()),
        sa.column("emis_paid_on_time", sa.SmallInteger()),
        sa.column("on_time_at_load", sa.SmallInteger()),
    )
    cap = (
        sa.update(loans)
        .where(loans.c.id == sa.bindparam("loan_id"))
        .values(on_time_at_load=sa.bindparam("counted", type_=sa.SmallInteger()))
    )
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(
                loans.c.id,
                loans.c.tenure,
                loans.c.start_date,
                loans.c.loaded_on,
                loans.c.emis_paid_on_time,
            )
            .where(
                loans.c.loaded_on.is_not(None),
                loans.c.emis_paid_on_time.is_not(None),
                loans.c.id > after,
            )
            .order_by(loans.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            cap,
            [
                {
                    "loan_id": row.id,
                    "counted": min(
                        row.emis_paid_on_time,
                        installments_due(row.start_date, row.tenure, row.loaded_on),
                    ),
                }
                for row in rows
            ],
        )
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_customer_id_id")
    op.drop_table("decisions")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_column("on_time_at_load")
