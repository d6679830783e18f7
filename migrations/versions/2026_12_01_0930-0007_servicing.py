"""Servicing: payments, each loan's servicing state, and idempotency keys.

`loans` gains its servicing state (`credit.lending.servicing`): `loaded_on`,
`installments_settled` (`s`), `installments_paid_on_time`, `outstanding_principal` (`B`) and
`current_emi` (`e`), both NULL until a first payment writes them, and `last_paid_on`.
`payments` records what settled each installment (one per installment of a loan);
`idempotency_keys` keeps the answers of writes a client may retry.

Every existing loan keeps its meaning: a loaded one (with a source `Loan ID`) is taken as loaded
on the day it was created (in the lender's time zone, `TZ_NAME`), with the installments due by
then settled; a booked one starts with none settled and its whole amount outstanding (the
column defaults).

Revision ID: 0007_servicing
Revises: 0006_customer_source_ids
Create Date: 2026-12-01 09:30:00
"""

import os
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

import credit.db.types
from credit.lending.amortization import installments_due

revision: str = "0007_servicing"
down_revision: str | None = "0006_customer_source_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000


def _money() -> credit.db.types.ExactDecimal:
    return credit.db.types.ExactDecimal(precision=16, scale=2)


def upgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("loaded_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("installments_settled", sa.SmallInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "installments_paid_on_time", sa.SmallInteger(), server_default="0", nullable=False
            )
        )
        batch_op.add_column(sa.Column("outstanding_principal", _money(), nullable=True))
        batch_op.add_column(sa.Column("current_emi", _money(), nullable=True))
        batch_op.add_column(sa.Column("last_paid_on", sa.Date(), nullable=True))
    _settle_loaded_loans()
    op.create_table(
        "payments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False, start=1, increment=1),
            nullable=False,
        ),
        sa.Column("loan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("installment", sa.SmallInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("amount", _money(), nullable=False),
        sa.Column("interest", _money(), nullable=False),
        sa.Column("principal", _money(), nullable=False),
        sa.Column("balance", _money(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", DateTimeUTC(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("installment >= 1", name=op.f("ck_payments_installment_positive")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint("interest >= 0", name=op.f("ck_payments_interest_not_negative")),
        sa.CheckConstraint("principal >= 0", name=op.f("ck_payments_principal_not_negative")),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_payments_balance_not_negative")),
        sa.ForeignKeyConstraint(
            ["loan_id"], ["loans.id"], name=op.f("fk_payments_loan_id_loans"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("loan_id", "installment", name=op.f("uq_payments_loan_id_installment")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", DateTimeUTC(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_keys_created_at", ["created_at"], unique=False)


def _settle_loaded_loans() -> None:
    """Loaded loans as of the day they were created: `loaded_on` is that day in the lender's
    time zone, and the installments due by then are settled (`amortization.installments_due`,
    the rule the API used until now, so `repayments_left` is unchanged on that day). In
    batches by id, so a large book is not held in memory at once."""
    zone = ZoneInfo(os.environ.get("TZ_NAME") or "Asia/Kolkata")
    loans = sa.table(
        "loans",
        sa.column("id", sa.BigInteger()),
        sa.column("source_loan_id", sa.BigInteger()),
        sa.column("tenure", sa.SmallInteger()),
        sa.column("start_date", sa.Date()),
        sa.column("created_at", DateTimeUTC(timezone=True)),
        sa.column("loaded_on", sa.Date()),
        sa.column("installments_settled", sa.SmallInteger()),
    )
    settle = (
        sa.update(loans)
        .where(loans.c.id == sa.bindparam("loan_id"))
        .values(
            loaded_on=sa.bindparam("day", type_=sa.Date()),
            installments_settled=sa.bindparam("settled", type_=sa.SmallInteger()),
        )
    )
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(loans.c.id, loans.c.tenure, loans.c.start_date, loans.c.created_at)
            .where(loans.c.source_loan_id.is_not(None), loans.c.id > after)
            .order_by(loans.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for row in rows:
            day = row.created_at.astimezone(zone).date()
            updates.append(
                {
                    "loan_id": row.id,
                    "day": day,
                    "settled": installments_due(row.start_date, row.tenure, day),
                }
            )
        bind.execute(settle, updates)
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_created_at")
    op.drop_table("idempotency_keys")
    op.drop_table("payments")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_column("last_paid_on")
        batch_op.drop_column("current_emi")
        batch_op.drop_column("outstanding_principal")
        batch_op.drop_column("installments_paid_on_time")
        batch_op.drop_column("installments_settled")
        batch_op.drop_column("loaded_on")
