"""Application records: every create-loan application with its outcome, written with the
loan it booked or alone when refused, and read back one by one or a customer's, newest first.

The record belongs to the loans module because it is written in the booking's own statement
(PostgreSQL: the claim, the loan and the record are three data-modifying WITHs of one
statement; SQLite: three statements in the booking's transaction), so a loan never exists
without its record. A customer's decisions are paged by id (keyset: `before`), in one
statement that also proves the customer exists.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import Table, and_, bindparam, insert, or_, select

from credit.db.database import Service
from credit.errors import NotFound
from credit.lending.policy import CreditPolicy, Decision, LoanRequest
from credit.lending.reasons import Reason
from credit.lending.scoring import Component, CreditScore
from credit.lending.underwriting import ApplicationInputs, policy_numbers
from credit.modules.loans.book import (
    BOOKED_FIELDS,
    CLAIM_BOOKING,
    CUSTOMERS,
    LOANS,
)
from credit.modules.loans.models import DecisionRecord

DECISIONS: Table = DecisionRecord.__table__  # type: ignore[assignment]

# Written by the booking, as bind parameters `recorded_<name>`.
RECORDED_FIELDS = (
    "decided_at",
    "as_of",
    "loan_amount",
    "interest_rate",
    "tenure",
    "approval",
    "corrected_interest_rate",
    "monthly_installment",
    "credit_score",
    "api_key_id",
    "inputs",
    "components",
    "reasons",
    "policy",
)
READ_FIELDS = ("customer_id", "loan_id", *RECORDED_FIELDS)


def _recorded(name: str) -> Any:
    # Not the column's own name: SQLAlchemy keeps those for INSERT ... VALUES.
    return bindparam(f"recorded_{name}", type_=DECISIONS.c[name].type)


# A refusal, or (SQLite) the record of a loan just inserted: `recorded_loan_id` NULL or its id.
INSERT_DECISION = (
    insert(DECISIONS)
    .values(
        customer_id=bindparam("customer_id"),
        loan_id=bindparam("recorded_loan_id", type_=DECISIONS.c.loan_id.type),
        **{name: _recorded(name) for name in RECORDED_FIELDS},
    )
    .returning(DECISIONS.c.id)
)


def _booked(name: str) -> Any:
    return bindparam(f"booked_{name}", type_=LOANS.c[name].type)


# PostgreSQL: claim, insert the loan and record the decision in one statement (one round trip),
# atomic without a transaction around it. It is a SELECT over three WITHs, claim first,
# because PostgreSQL takes the tables' locks in that order (`customers`, then `loans`, then
# `decisions`), as an ingestion's `LOCK TABLE customers, loans` and a queued booking's lock on
# its customer and then its `INSERT` do. As `INSERT ... SELECT FROM claimed` it took `loans`
# first and deadlocked with a concurrent ingestion (test_faults.py; test_booking.py checks the
# order). No row back: the claim was lost, and neither the loan nor the record was written.
_claimed = CLAIM_BOOKING.cte("claimed")
_inserted = (
    insert(LOANS)
    .from_select(
        ["customer_id", *BOOKED_FIELDS],
        select(_claimed.c.id, *(_booked(name) for name in BOOKED_FIELDS)),
    )
    .returning(LOANS.c.id, LOANS.c.customer_id)
    .cte("inserted")
)
_decided = (
    insert(DECISIONS)
    .from_select(
        ["customer_id", "loan_id", *RECORDED_FIELDS],
        select(
            _inserted.c.customer_id,
            _inserted.c.id,
            *(_recorded(name) for name in RECORDED_FIELDS),
        ),
    )
    .returning(DECISIONS.c.id, DECISIONS.c.loan_id)
    .cte("decided")
)
CLAIM_BOOK_AND_RECORD = select(
    _decided.c.loan_id.label("id"), _decided.c.id.label("decision_id")
).add_cte(_claimed, _inserted, _decided)

DECISION_COLUMNS = (DECISIONS.c.id.label("decision_id"), *(DECISIONS.c[n] for n in READ_FIELDS))
DECISION_BY_ID = select(*DECISION_COLUMNS).where(DECISIONS.c.id == bindparam("decision_id"))
# A customer's decisions, newest first, before `before` (bind NULL for the first page), at most
# `limit` (bind the page size + 1, to know whether another page follows). The customer's row
# leads, so an unknown customer gives no row and one without decisions one row of NULLs.
CUSTOMER_DECISIONS = (
    select(CUSTOMERS.c.id.label("of_customer"), *DECISION_COLUMNS)
    .select_from(CUSTOMERS)
    .outerjoin(
        DECISIONS,
        and_(
            DECISIONS.c.customer_id == CUSTOMERS.c.id,
            or_(
                bindparam("before", type_=DECISIONS.c.id.type).is_(None),
                DECISIONS.c.id < bindparam("before", type_=DECISIONS.c.id.type),
            ),
        ),
    )
    .where(CUSTOMERS.c.id == bindparam("customer_id"))
    .order_by(DECISIONS.c.id.desc())
    .limit(bindparam("limit"))
)


class StoredDecision(msgspec.Struct, frozen=True):
    """A record as stored, its JSON parts read back into the lending rules' own types."""

    decision_id: int
    customer_id: int
    decided_at: datetime
    as_of: date
    request: LoanRequest
    approval: bool
    loan_id: int | None
    corrected_interest_rate: Decimal
    monthly_installment: Decimal
    credit_score: int
    components: tuple[Component, ...]
    reasons: tuple[Reason, ...]
    policy: dict[str, Decimal]
    api_key_id: int | None
    inputs: ApplicationInputs


class DecisionPage(msgspec.Struct, frozen=True):
    items: list[StoredDecision]
    next: int | None


def decision_not_found(decision_id: int) -> NotFound:
    return NotFound(f"Decision {decision_id} not found.")


@lru_cache(maxsize=8)
def _policy_json(policy: CreditPolicy) -> dict[str, Any]:
    """The policy's numbers as stored (Decimals as exact strings); the same for every record
    of a process, so built once."""
    return msgspec.to_builtins(policy_numbers(policy))  # type: ignore[no-any-return]


def record_values(
    *,
    request: LoanRequest,
    inputs: ApplicationInputs,
    score: CreditScore,
    decision: Decision,
    approval: bool,
    monthly_installment: Decimal,
    policy: CreditPolicy,
    api_key_id: int | None,
    today: date,
    decided_at: datetime,
) -> dict[str, Any]:
    """The bind parameters that record one application (`recorded_<field>`)."""
    values = {
        "decided_at": decided_at,
        "as_of": today,
        "loan_amount": request.amount,
        "interest_rate": request.interest_rate,
        "tenure": request.tenure,
        "approval": approval,
        "corrected_interest_rate": decision.corrected_interest_rate,
        "monthly_installment": monthly_installment,
        "credit_score": score.score,
        "api_key_id": api_key_id,
        "inputs": msgspec.to_builtins(inputs),
        "components": msgspec.to_builtins(score.components),
        "reasons": msgspec.to_builtins(decision.reasons),
        "policy": _policy_json(policy),
    }
    return {f"recorded_{name}": value for name, value in values.items()}


def stored_decision(row: Any) -> StoredDecision:
    return StoredDecision(
        decision_id=row.decision_id,
        customer_id=row.customer_id,
        decided_at=row.decided_at,
        as_of=row.as_of,
        request=LoanRequest(row.loan_amount, row.interest_rate, row.tenure),
        approval=bool(row.approval),
        loan_id=row.loan_id,
        corrected_interest_rate=row.corrected_interest_rate,
        monthly_installment=row.monthly_installment,
        credit_score=row.credit_score,
        components=msgspec.convert(row.components, tuple[Component, ...], strict=False),
        reasons=msgspec.convert(row.reasons, tuple[Reason, ...]),
        policy=msgspec.convert(row.policy, dict[str, Decimal], strict=False),
        api_key_id=row.api_key_id,
        inputs=msgspec.convert(row.inputs, ApplicationInputs, strict=False),
    )


class DecisionService(Service[DecisionRecord]):
    class Repo(SQLAlchemyAsyncRepository[DecisionRecord]):
        model_type = DecisionRecord

    repository_type = Repo

    async def record(
        self, customer_id: int, values: dict[str, Any], loan_id: int | None = None
    ) -> int:
        """Record an application (a refusal, or on SQLite the loan just booked); its id."""
        params = {"customer_id": customer_id, "recorded_loan_id": loan_id, **values}
        return int((await self.execute(INSERT_DECISION, params)).one().id)

    async def decision(self, decision_id: int) -> StoredDecision:
        row = (await self.execute(DECISION_BY_ID, {"decision_id": decision_id})).one_or_none()
        if row is None:
            raise decision_not_found(decision_id)
        return stored_decision(row)

    async def of_customer(self, customer_id: int, limit: int, before: int | None) -> DecisionPage:
        """The customer's decisions before `before`, newest first; NotFound for no customer."""
        params = {"customer_id": customer_id, "before": before, "limit": limit + 1}
        rows = (await self.execute(CUSTOMER_DECISIONS, params)).all()
        if not rows:
            raise NotFound(f"Customer {customer_id} not found.")
        items = [stored_decision(row) for row in rows if row.decision_id is not None]
        if len(items) > limit:
            return DecisionPage(items[:limit], items[limit - 1].decision_id)
        return DecisionPage(items, None)
