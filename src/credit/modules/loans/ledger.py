"""A loan's ledger: the statements over a loan and the payments that settled its installments.

Reading a loan with its payments is one statement however many there are (the loan LEFT JOIN
its payments, oldest first). Recording a payment moves the loan's state on only if no other
payment moved it since it was read (`installments_settled` unchanged), and inserts the
payment: on PostgreSQL as one statement (two data-modifying WITHs) after an unlocked read;
when that loses a race, or on SQLite, in a transaction that holds the loan's row (`FOR
UPDATE` on PostgreSQL; on SQLite the conditional update is the guard). Bind parameters that
feed an INSERT's values are not the columns' own names (SQLAlchemy keeps those for VALUES).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update

from credit.modules.loans.book import CLASSIFIED_COLUMNS, LOANS, STATE_COLUMNS, with_classification
from credit.modules.loans.models import Payment

PAYMENTS: Table = Payment.__table__  # type: ignore[assignment]

PAYMENT_FIELDS = ("installment", "paid_on", "amount", "interest", "principal", "balance", "on_time")
# What a payment records besides its split: the bank's reference (collections) and the loan's
# state before it (`credit.lending.reversal`).
RECORDED_FIELDS = (
    "reference",
    "before_outstanding_principal",
    "before_current_emi",
    "before_last_paid_on",
)
# What a ledger reads of each payment.
LEDGER_FIELDS = (*PAYMENT_FIELDS, *RECORDED_FIELDS, "reversed_on", "reversal_reason")


def _paid(name: str) -> Any:
    return bindparam(f"paid_{name}", type_=PAYMENTS.c[name].type)


# The loan (bind `loan_id`) and every payment of it, oldest first: a loan without payments
# gives one row of NULL payment columns, no loan gives no row.
LOAN_LEDGER = (
    select(
        LOANS.c.id.label("loan_id"),
        LOANS.c.customer_id,
        *STATE_COLUMNS,
        *CLASSIFIED_COLUMNS,
        PAYMENTS.c.id.label("payment_id"),
        *(PAYMENTS.c[name].label(f"payment_{name}") for name in LEDGER_FIELDS),
    )
    .select_from(with_classification(LOANS))
    .outerjoin(PAYMENTS, PAYMENTS.c.loan_id == LOANS.c.id)
    .where(LOANS.c.id == bindparam("loan_id"))
    # A reversed payment comes before the one that settled its installment again.
    .order_by(PAYMENTS.c.installment, PAYMENTS.c.id)
)
# The same, only when the loan is this customer's (bind `customer_id` too).
CUSTOMER_LOAN_LEDGER = LOAN_LEDGER.where(LOANS.c.customer_id == bindparam("customer_id"))

# The state a payment starts from (this customer's loan only).
READ_LOAN = (
    select(LOANS.c.id, *STATE_COLUMNS)
    .where(LOANS.c.id == bindparam("loan_id"))
    .where(LOANS.c.customer_id == bindparam("customer_id"))
)
# The same, the row held until the payment commits (PostgreSQL; the clause is not rendered for
# SQLite). Only this loan's row: other loans' payments go on.
LOCK_LOAN = READ_LOAN.with_for_update(of=LOANS)

# A payment reversed (bind `payment_id`, `reversed_on`, `reversal_reason`), once.
MARK_REVERSED = (
    update(PAYMENTS)
    .where(PAYMENTS.c.id == bindparam("payment_id"))
    .where(PAYMENTS.c.reversed_on.is_(None))
    .values(
        reversed_on=bindparam("reversed_on_day", type_=PAYMENTS.c.reversed_on.type),
        reversal_reason=bindparam("reversal_reason_text", type_=PAYMENTS.c.reversal_reason.type),
    )
    .returning(PAYMENTS.c.id)
)

# The loan's state after the payment, only if it is still where the payment read it: no row
# back means another payment settled the installment first (the SQLite guard; under the row
# lock of PostgreSQL it always matches).
MOVE_LOAN_ON = (
    update(LOANS)
    .where(LOANS.c.id == bindparam("loan_id"))
    .where(LOANS.c.installments_settled == bindparam("settled_before"))
    .values(
        installments_settled=bindparam("settled_after"),
        installments_paid_on_time=LOANS.c.installments_paid_on_time
        + bindparam("counts_on_time", type_=LOANS.c.installments_paid_on_time.type),
        outstanding_principal=bindparam("balance_after", type_=LOANS.c.outstanding_principal.type),
        current_emi=bindparam("emi_after", type_=LOANS.c.current_emi.type),
        last_paid_on=bindparam("last_paid_on_after", type_=LOANS.c.last_paid_on.type),
        updated_at=bindparam("settled_at", type_=LOANS.c.updated_at.type),
    )
)
SETTLE_INSTALLMENT = MOVE_LOAN_ON.returning(LOANS.c.id)
# (Collections move many loans on with `MOVE_LOAN_ON` and record with `RECORD_PAYMENT`,
# executemany: no RETURNING.)

RECORD_PAYMENT = insert(PAYMENTS).values(
    loan_id=bindparam("paid_loan_id", type_=PAYMENTS.c.loan_id.type),
    created_at=bindparam("paid_at", type_=PAYMENTS.c.created_at.type),
    **{name: _paid(name) for name in (*PAYMENT_FIELDS, *RECORDED_FIELDS)},
)
INSERT_PAYMENT = RECORD_PAYMENT.returning(PAYMENTS.c.id)

# PostgreSQL: settle and record in one statement, atomic without a transaction around it. A
# SELECT over two WITHs, the update of `loans` first, so the tables are locked in a payment's
# order (`loans`, then `payments`; an ingestion locks `customers` and `loans` before it, see
# `decisions.CLAIM_BOOK_AND_RECORD`). No row back: another payment moved the loan first.
_settled = SETTLE_INSTALLMENT.cte("settled")
_recorded = (
    insert(PAYMENTS)
    .from_select(
        ["loan_id", "created_at", *PAYMENT_FIELDS, *RECORDED_FIELDS],
        select(
            _settled.c.id,
            bindparam("paid_at", type_=PAYMENTS.c.created_at.type),
            *(_paid(name) for name in (*PAYMENT_FIELDS, *RECORDED_FIELDS)),
        ),
    )
    .returning(PAYMENTS.c.id)
    .cte("recorded")
)
SETTLE_AND_RECORD = select(_recorded.c.id).add_cte(_settled, _recorded)

# The standing payments dated after a day (bind `after_day`), by loan and installment: what
# the close of that day and the days after it take back out of each loan's state.
LATER_PAYMENTS = (
    select(
        PAYMENTS.c.loan_id,
        PAYMENTS.c.paid_on,
        PAYMENTS.c.installment,
        PAYMENTS.c.balance,
        PAYMENTS.c.principal,
    )
    .where(PAYMENTS.c.paid_on > bindparam("after_day", type_=PAYMENTS.c.paid_on.type))
    .where(PAYMENTS.c.reversed_on.is_(None))
    .order_by(PAYMENTS.c.loan_id, PAYMENTS.c.installment)
)

# --- collections: many payments at once (`credit.modules.collections`) ------------------------

# The states of many loans (bind `loan_ids`, expanding), with their customers.
LOAN_STATES = select(LOANS.c.id.label("loan_id"), LOANS.c.customer_id, *STATE_COLUMNS).where(
    LOANS.c.id.in_(bindparam("loan_ids", expanding=True))
)
# The payments already recorded under some references (bind `references`, expanding).
PAYMENTS_BY_REFERENCE = (
    select(
        PAYMENTS.c.reference,
        LOANS.c.customer_id,
        PAYMENTS.c.loan_id,
        PAYMENTS.c.amount,
        PAYMENTS.c.paid_on,
    )
    .join(LOANS, LOANS.c.id == PAYMENTS.c.loan_id)
    .where(PAYMENTS.c.reference.in_(bindparam("references", expanding=True)))
)
