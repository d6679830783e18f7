"""SQL: the close of day's read of the book (`credit.modules.portfolio` through `loans.api`).

Pages of whole customers, read by range on the index that leads with the customer, with each
loan's class at the previous close; and where the next page starts. Apart from `book.py`, whose
statements serve the API's per-request reads, because this one reads the whole book.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Date, bindparam, func, or_, select

from credit.modules.loans.book import CURRENT, LOANS, with_classification
from credit.modules.loans.models import LOAN_CLASSIFICATIONS

# A page of the loans a close of the days `first_day`..`last_day` looks at: those of the
# customers in (`after_customer`, `to_customer`], in customer order (a customer's loans are
# classified together, and a page holds whole customers), read by range on the index that
# leads with the customer: every loan lent by the last day that has a balance now, or had one
# on the first day (paid off by a payment dated after it), or that the previous close found;
# with its class at the previous close.
CLOSE_PAGE = (
    select(
        LOANS.c.id.label("loan_id"),
        LOANS.c.customer_id,
        # What the class needs of the state: `s`, `B`, and what works `B` out when NULL.
        LOANS.c.loan_amount,
        LOANS.c.interest_rate,
        LOANS.c.tenure,
        LOANS.c.start_date,
        LOANS.c.installments_settled,
        LOANS.c.outstanding_principal,
        LOAN_CLASSIFICATIONS.c.classification.label("previous_classification"),
        LOAN_CLASSIFICATIONS.c.days_past_due.label("previous_days_past_due"),
        LOAN_CLASSIFICATIONS.c.outstanding.label("previous_outstanding"),
        LOANS.c.updated_at,
    )
    .select_from(with_classification(LOANS))
    .where(LOANS.c.start_date <= bindparam("last_day", type_=Date))
    .where(
        or_(
            CURRENT,
            LOANS.c.last_paid_on > bindparam("first_day", type_=Date),
            LOAN_CLASSIFICATIONS.c.loan_id.is_not(None),
        )
    )
    .where(LOANS.c.customer_id > bindparam("after_customer", type_=BigInteger))
    .where(LOANS.c.customer_id <= bindparam("to_customer", type_=BigInteger))
    .order_by(LOANS.c.customer_id, LOANS.c.id)
)
# The first customer id above `after` (bind) that has a loan: the close's pages start there,
# so ids far apart (the files' own numbers) cost no query per empty range between them.
NEXT_BORROWER = select(func.min(LOANS.c.customer_id).label("customer_id")).where(
    LOANS.c.customer_id > bindparam("after", type_=BigInteger)
)
