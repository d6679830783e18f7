"""The lender's day: references and reversals on payments, and the close of day's records.

`payments` gains the bank's `reference` (unique; NULL for payments made through the API),
the loan's state before each payment (so a reversal restores it exactly) and the reversal's
date and reason. One payment per installment becomes one *standing* payment per installment:
a reversed payment's installment can be settled again. The close of day adds each loan as the
latest close found it (`loan_classifications`), the classification history
(`classification_periods`), the closed dates (`closed_days`) and each closed date's
portfolio summary by class (`portfolio_days`).

Revision ID: 0010_lenders_day
Revises: 0009_customer_search
Create Date: 2026-12-07 01:00:00
"""

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

import credit.db.types

revision: str = "0010_lenders_day"
down_revision: str | None = "0009_customer_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STANDING = "reversed_on IS NULL"


def _money() -> credit.db.types.ExactDecimal:
    return credit.db.types.ExactDecimal(precision=16, scale=2)


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


@contextmanager
def _reflection_quiet() -> Iterator[None]:
    """SQLite's batch mode copies `payments` and reflects the tables it refers to; reflection
    cannot read the customers' expression indexes (0009) and says so, but `customers` is not
    copied, so its indexes stay as they are."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", "Skipped unsupported reflection of expression-based index"
        )
        yield


def upgrade() -> None:
    with _reflection_quiet(), op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("before_outstanding_principal", _money(), nullable=True))
        batch_op.add_column(sa.Column("before_current_emi", _money(), nullable=True))
        batch_op.add_column(sa.Column("before_last_paid_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reversed_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("reversal_reason", sa.String(length=200), nullable=True))
        batch_op.drop_constraint("uq_payments_loan_id_installment", type_="unique")
        batch_op.create_index("ix_payments_loan_id_installment", ["loan_id", "installment"])
        batch_op.create_index(
            "uq_payments_loan_id_installment_standing",
            ["loan_id", "installment"],
            unique=True,
            postgresql_where=sa.text(STANDING),
            sqlite_where=sa.text(STANDING),
        )
        batch_op.create_index("uq_payments_reference", ["reference"], unique=True)
        batch_op.create_index("ix_payments_paid_on", ["paid_on"])

    op.create_table(
        "loan_classifications",
        sa.Column("loan_id", _id(), autoincrement=False, nullable=False),
        sa.Column("customer_id", _id(), nullable=False),
        sa.Column("classification", sa.String(length=10), nullable=False),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column("outstanding", _money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.id"],
            name=op.f("fk_loan_classifications_loan_id_loans"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_loan_classifications")),
    )
    op.create_index("ix_loan_classifications_customer_id", "loan_classifications", ["customer_id"])
    op.create_table(
        "classification_periods",
        sa.Column("id", _id(), sa.Identity(always=False, start=1, increment=1), nullable=False),
        sa.Column("loan_id", _id(), nullable=False),
        sa.Column("classification", sa.String(length=10), nullable=False),
        sa.Column("from_date", sa.Date(), nullable=False),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.id"],
            name=op.f("fk_classification_periods_loan_id_loans"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classification_periods")),
    )
    op.create_index(
        "ix_classification_periods_loan_id_from_date",
        "classification_periods",
        ["loan_id", "from_date"],
    )
    op.create_table(
        "closed_days",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("closed_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("loans", sa.Integer(), server_default="0", nullable=False),
        sa.Column("outstanding", _money(), server_default="0", nullable=False),
        sa.Column("outstanding_over_30", _money(), server_default="0", nullable=False),
        sa.Column("outstanding_over_90", _money(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("as_of", name=op.f("pk_closed_days")),
    )
    op.create_table(
        "portfolio_days",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("classification", sa.String(length=10), nullable=False),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("outstanding", _money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["as_of"],
            ["closed_days.as_of"],
            name=op.f("fk_portfolio_days_as_of_closed_days"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("as_of", "classification", name=op.f("pk_portfolio_days")),
    )


def downgrade() -> None:
    op.drop_table("portfolio_days")
    op.drop_table("closed_days")
    op.drop_index("ix_classification_periods_loan_id_from_date", "classification_periods")
    op.drop_table("classification_periods")
    op.drop_index("ix_loan_classifications_customer_id", "loan_classifications")
    op.drop_table("loan_classifications")
    with _reflection_quiet(), op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_paid_on")
        batch_op.drop_index("uq_payments_reference")
        batch_op.drop_index("uq_payments_loan_id_installment_standing")
        batch_op.drop_index("ix_payments_loan_id_installment")
        batch_op.create_unique_constraint(
            "uq_payments_loan_id_installment", ["loan_id", "installment"]
        )
        for name in (
            "reversal_reason",
            "reversed_on",
            "before_last_paid_on",
            "before_current_emi",
            "before_outstanding_principal",
            "reference",
        ):
            batch_op.drop_column(name)
