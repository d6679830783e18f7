"""Loans: the customer's book, the booking claim, look-ups, a loan's ledger (its state and
payments) and the writes that record a payment.

The loans module's Advanced Alchemy service: persistence only. The statements over customers
and loans together are in `book.py`, those over a loan and its payments in `ledger.py`; this
service runs them and reads their rows into Structs by name. Deciding is the lending rules'
(`credit.lending`), booking's retries are `booking.py`'s, a payment's `payments.py`'s.

One room although it is long: it is the loans table's one way into the database, and the
close of day's and the collections' reads and writes run here too, inside the same session and
transaction as the rest (`Service.transaction`), which a second service class would not share.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository

from credit.db.database import Service, driver_errors
from credit.errors import Conflict, NotFound
from credit.lending.amortization import add_months
from credit.lending.classification import CLASSES, Classification, LaterPayment
from credit.lending.policy import LoanRequest
from credit.lending.servicing import LoanState, LoanTerms, balance_after, stored_state
from credit.lending.statement import RecordedPayment, standing_payments
from credit.modules.customers.service import customer_not_found
from credit.modules.loans.book import (
    ALL_LOANS,
    CLAIM_BOOKING,
    CURRENT_LOANS,
    CURRENT_LOANS_OF,
    INSERT_LOAN,
    LOAN_WITH_CUSTOMER,
    LOANS,
    BookVersion,
    CustomerBook,
    book_statement,
    customer_book,
)
from credit.modules.loans.close_read import CLOSE_PAGE, NEXT_BORROWER
from credit.modules.loans.decisions import CLAIM_BOOK_AND_RECORD, INSERT_DECISION
from credit.modules.loans.ledger import (
    CUSTOMER_LOAN_LEDGER,
    INSERT_PAYMENT,
    LATER_PAYMENTS,
    LEDGER_FIELDS,
    LOAN_LEDGER,
    LOAN_STATES,
    LOCK_LOAN,
    MARK_REVERSED,
    MOVE_LOAN_ON,
    PAYMENTS_BY_REFERENCE,
    READ_LOAN,
    RECORD_PAYMENT,
    SETTLE_AND_RECORD,
    SETTLE_INSTALLMENT,
)
from credit.modules.loans.models import Loan

# Ids (or references) per IN list.
ID_BATCH = 5_000


def loan_not_found(loan_id: int) -> NotFound:
    return NotFound(f"Loan {loan_id} not found.")


def customer_loan_not_found(customer_id: int, loan_id: int) -> NotFound:
    return NotFound(f"Customer {customer_id} has no loan {loan_id}.")


class StoredState(msgspec.Struct, frozen=True):
    """A row of `book.STATE_COLUMNS`, as stored."""

    loan_amount: Decimal
    interest_rate: Decimal
    tenure: int
    start_date: date
    monthly_installment: Decimal
    installments_settled: int
    outstanding_principal: Decimal | None
    current_emi: Decimal | None
    last_paid_on: date | None

    @property
    def terms(self) -> LoanTerms:
        return LoanTerms(self.loan_amount, self.interest_rate, self.tenure, self.start_date)

    def state(self) -> LoanState:
        """The loan's servicing state."""
        return stored_state(
            self.terms,
            self.monthly_installment,
            self.installments_settled,
            self.outstanding_principal,
            self.current_emi,
            self.last_paid_on,
        )


def state_of(row: Any) -> LoanState:
    """A row of `book.STATE_COLUMNS` as the loan's servicing state."""
    return msgspec.convert(row._mapping, StoredState).state()


class BookedLoan(msgspec.Struct, frozen=True):
    id: int
    end_date: date
    decision_id: int


class LoanCustomerRow(msgspec.Struct, frozen=True):
    id: int
    first_name: str
    last_name: str
    phone_number: int
    age: int


class StoredLoan(msgspec.Struct, frozen=True):
    """A loan as read: its id and its state (`state_of`, the one read of a loan's `B`, `s`
    and `e` that every view of it shows)."""

    loan_id: int
    state: LoanState


class Classified(msgspec.Struct, frozen=True):
    """A loan at the latest close of day; all None before the first close, or for a loan the
    latest close did not find (lent after it, or paid off before it)."""

    classification: Classification | None = None
    classified_on: date | None = None
    classified_days_past_due: int | None = None


def classified_of(row: Any) -> Classified:
    return Classified(row.classification, row.classified_on, row.classified_days_past_due)


class LoanWithCustomer(msgspec.Struct, frozen=True):
    loan: StoredLoan
    customer: LoanCustomerRow
    classified: Classified = Classified()


class CustomerLoans(msgspec.Struct, frozen=True):
    """A customer's profile and current loans, as one statement reads them."""

    customer_id: int
    first_name: str
    last_name: str
    age: int
    phone_number: int
    monthly_income: Decimal
    approved_limit: Decimal
    loans: list[StoredLoan] = []
    # The worst of the customer's loans' classes at the latest close (`standard` with none);
    # None before the first close.
    classification: Classification | None = None


class CurrentLoans(msgspec.Struct, frozen=True):
    """A customer's current loans and classification at the latest close (None before the
    first close), as a page of profiles reads them."""

    loans: list[StoredLoan]
    classification: Classification | None


class LoanLedger(msgspec.Struct, frozen=True):
    """A loan's state and the payments that settled its installments, oldest first.
    `loaded` is the installments settled as the files said, before any payment."""

    loan_id: int
    customer_id: int
    recorded_emi: Decimal
    state: LoanState
    loaded: int
    payments: list[RecordedPayment]
    classified: Classified = Classified()


def _payment(row: Any) -> RecordedPayment:
    fields = {name: row._mapping[f"payment_{name}"] for name in LEDGER_FIELDS}
    return msgspec.convert({"payment_id": row.payment_id, **fields}, RecordedPayment, strict=False)


class BookLoan(msgspec.Struct, frozen=True, gc=False):
    """A loan as the close of day reads it: its bare figures now (`classification.FlatLoan`)
    and its figures at the previous close (None when that close did not find it)."""

    loan_id: int
    customer_id: int
    start_date: date
    installments_settled: int
    outstanding_principal: Decimal
    previous_classification: Classification | None
    previous_days_past_due: int | None
    previous_outstanding: Decimal | None


class LoanService(Service[Loan]):
    class Repo(SQLAlchemyAsyncRepository[Loan]):
        model_type = Loan

    repository_type = Repo

    @property
    def writable_ctes(self) -> bool:
        """Whether a WITH may hold an UPDATE (PostgreSQL): then claim and insert are one."""
        name: str = self.repository._dialect.name
        return name == "postgresql"

    async def customer_book(self, customer_id: int, today: date) -> CustomerBook:
        """The customer's book, read in one statement (inside a transaction, if one is open)."""
        result = await self.execute(book_statement(today), {"customer_id": customer_id})
        row = result.one_or_none()
        if row is None:
            raise customer_not_found(customer_id)
        return customer_book(row)

    async def book_loan(
        self,
        customer_id: int,
        version: BookVersion,
        request: LoanRequest,
        installment: Decimal,
        start: date,
        record: dict[str, Any],
    ) -> BookedLoan | None:
        """Book the loan with its application record (`decisions.record_values`) if the
        customer's book is still at `version`; None, and nothing written, if it moved."""
        end = add_months(start, request.tenure)
        now = datetime.now(UTC)
        values = {
            "customer_id": customer_id,
            "customer_version": version.customer,
            "book_generation": version.book,
            "booked_loan_amount": request.amount,
            "booked_interest_rate": request.interest_rate,
            "booked_tenure": request.tenure,
            "booked_monthly_installment": installment,
            "booked_start_date": start,
            "booked_end_date": end,
            "booked_created_at": now,
            "booked_updated_at": now,
            **record,
        }
        if self.writable_ctes:  # one statement: atomic without a transaction around it
            row = (await self.execute(CLAIM_BOOK_AND_RECORD, values)).one_or_none()
            return None if row is None else BookedLoan(row.id, end, row.decision_id)
        async with self.transaction():
            if (await self.execute(CLAIM_BOOKING, values)).one_or_none() is None:
                return None
            values["recorded_loan_id"] = (await self.execute(INSERT_LOAN, values)).one().id
            decided = (await self.execute(INSERT_DECISION, values)).one()
        return BookedLoan(values["recorded_loan_id"], end, decided.id)

    async def loan_with_customer(self, loan_id: int) -> LoanWithCustomer:
        """A loan with its state and its customer (a row of `book.LOAN_WITH_CUSTOMER`)."""
        row = (await self.execute(LOAN_WITH_CUSTOMER, {"loan_id": loan_id})).one_or_none()
        if row is None:
            raise loan_not_found(loan_id)
        customer = LoanCustomerRow(
            id=row.customer_id,
            first_name=row.first_name,
            last_name=row.last_name,
            phone_number=row.phone_number,
            age=row.age,
        )
        loan = StoredLoan(row.loan_id, state_of(row))
        return LoanWithCustomer(loan, customer, classified_of(row))

    async def ledger(self, loan_id: int, customer_id: int | None = None) -> LoanLedger:
        """The loan with its payments, in one statement; NotFound when there is no such loan
        (or, with `customer_id`, when it is not that customer's)."""
        if customer_id is None:
            result = await self.execute(LOAN_LEDGER, {"loan_id": loan_id})
        else:
            params = {"loan_id": loan_id, "customer_id": customer_id}
            result = await self.execute(CUSTOMER_LOAN_LEDGER, params)
        rows = result.all()
        if not rows:
            if customer_id is None:
                raise loan_not_found(loan_id)
            raise customer_loan_not_found(customer_id, loan_id)
        first = rows[0]
        payments = [_payment(row) for row in rows if row.payment_id is not None]
        state = state_of(first)
        return LoanLedger(
            loan_id=first.loan_id,
            customer_id=first.customer_id,
            recorded_emi=first.monthly_installment,
            state=state,
            loaded=state.installments_settled - len(standing_payments(payments)),
            payments=payments,
            classified=classified_of(first),
        )

    async def loan_state(self, customer_id: int, loan_id: int, lock: bool = False) -> LoanState:
        """The state a payment starts from; with `lock`, the loan's row is held until the
        transaction ends (PostgreSQL). NotFound when it is not this customer's loan."""
        params = {"loan_id": loan_id, "customer_id": customer_id}
        row = (await self.execute(LOCK_LOAN if lock else READ_LOAN, params)).one_or_none()
        if row is None:
            raise customer_loan_not_found(customer_id, loan_id)
        return state_of(row)

    async def settle_and_record(self, values: dict[str, Any]) -> int | None:
        """Settle the installment and record the payment in one statement (PostgreSQL), only
        if the loan is still where it was read; the payment's id, or None if it moved."""
        recorded = (await self.execute(SETTLE_AND_RECORD, values)).one_or_none()
        return None if recorded is None else int(recorded.id)

    async def settle(self, values: dict[str, Any]) -> bool:
        """Settle the installment if the loan is still where it was read."""
        return (await self.execute(SETTLE_INSTALLMENT, values)).one_or_none() is not None

    async def mark_reversed(self, payment_id: int, on: date, reason: str) -> None:
        params = {"payment_id": payment_id, "reversed_on_day": on, "reversal_reason_text": reason}
        if (await self.execute(MARK_REVERSED, params)).one_or_none() is None:
            raise Conflict(f"payment {payment_id} is already reversed")

    async def record_payment(self, values: dict[str, Any]) -> int:
        return int((await self.execute(INSERT_PAYMENT, values)).one().id)

    async def customer_loans(self, customer_id: int, closed_too: bool = False) -> CustomerLoans:
        """The customer's profile and current loans (with `closed_too`, every loan), oldest
        first; NotFound for no customer."""
        statement = ALL_LOANS if closed_too else CURRENT_LOANS
        rows = (await self.execute(statement, {"customer_id": customer_id})).all()
        if not rows:
            raise customer_not_found(customer_id)
        first = rows[0]
        book = msgspec.convert(first._mapping, CustomerLoans)
        loans = [StoredLoan(row.loan_id, state_of(row)) for row in rows if row.loan_id is not None]
        classification = None
        if first.latest_close is not None:
            classification = CLASSES[first.worst_class_rank or 0]
        return msgspec.structs.replace(book, loans=loans, classification=classification)

    async def current_loans_of(self, customer_ids: list[int]) -> dict[int, CurrentLoans]:
        """Each customer's current loans, oldest first, and classification at the latest
        close, in one statement (`book.CURRENT_LOANS_OF`); an unknown customer: no entry."""
        if not customer_ids:
            return {}
        rows = (await self.execute(CURRENT_LOANS_OF, {"customer_ids": customer_ids})).all()
        found: dict[int, CurrentLoans] = {}
        for row in rows:
            current = found.get(row.customer_id)
            if current is None:
                classification = None
                if row.latest_close is not None:
                    classification = CLASSES[row.worst_class_rank or 0]
                current = found[row.customer_id] = CurrentLoans([], classification)
            if row.loan_id is not None:
                current.loans.append(StoredLoan(row.loan_id, state_of(row)))
        return found

    async def close_page(
        self,
        first_day: date,
        last_day: date,
        customers: tuple[int, int],
        unchanged_since: datetime | None = None,
    ) -> list[BookLoan]:
        """A page of the loans a close of `first_day`..`last_day` looks at: those of the
        customers with ids in (`customers[0]`, `customers[1]`], in customer order
        (`close_read.CLOSE_PAGE`).

        A loan without payments keeps the balance its files gave it, which is a whole
        schedule's arithmetic to work out (`servicing.balance_after`). A loan whose row has not
        changed since the previous close (`unchanged_since`, when it began) has the balance
        that close recorded: it is taken from there, not worked out again."""
        params = {
            "first_day": first_day,
            "last_day": last_day,
            "after_customer": customers[0],
            "to_customer": customers[1],
        }
        rows = (await self.execute(CLOSE_PAGE, params)).all()
        loans = []
        for row in rows:
            balance = row.outstanding_principal
            if balance is None:
                if (
                    unchanged_since is not None
                    and row.previous_outstanding is not None
                    and row.updated_at <= unchanged_since
                ):
                    balance = row.previous_outstanding
                else:
                    terms = LoanTerms(
                        row.loan_amount, row.interest_rate, row.tenure, row.start_date
                    )
                    balance = balance_after(terms, row.installments_settled)
            loans.append(
                BookLoan(
                    row.loan_id,
                    row.customer_id,
                    row.start_date,
                    row.installments_settled,
                    balance,
                    row.previous_classification,
                    row.previous_days_past_due,
                    row.previous_outstanding,
                )
            )
        return loans

    async def next_borrower(self, after: int) -> int | None:
        """The first customer id above `after` that has a loan; None when there is none."""
        found = (await self.execute(NEXT_BORROWER, {"after": after})).scalar_one_or_none()
        return None if found is None else int(found)

    async def later_payments(self, after_day: date) -> dict[int, list[LaterPayment]]:
        """The standing payments dated after `after_day`, by loan, in installment order."""
        later: dict[int, list[LaterPayment]] = {}
        result = await self.execute(LATER_PAYMENTS, {"after_day": after_day})
        for row in result:
            later.setdefault(row.loan_id, []).append(
                LaterPayment(row.paid_on, row.installment, row.balance + row.principal)
            )
        return later

    # --- collections ---------------------------------------------------------------------

    async def states_of(
        self, loan_ids: list[int], lock: bool = False
    ) -> dict[int, tuple[int, LoanState]]:
        """Each loan's customer and state, in batches of ids; a loan not found is absent.
        With `lock` the rows are held until the transaction ends (PostgreSQL)."""
        found: dict[int, tuple[int, LoanState]] = {}
        statement = LOAN_STATES.with_for_update(of=LOANS) if lock else LOAN_STATES
        for start in range(0, len(loan_ids), ID_BATCH):
            chunk = loan_ids[start : start + ID_BATCH]
            for row in await self.execute(statement, {"loan_ids": chunk}):
                found[row.loan_id] = (row.customer_id, state_of(row))
        return found

    async def payments_by_reference(self, references: list[str]) -> dict[str, tuple[Any, ...]]:
        """The payments already recorded under these references: (customer, loan, amount,
        paid on) by reference."""
        found: dict[str, tuple[Any, ...]] = {}
        for start in range(0, len(references), ID_BATCH):
            chunk = references[start : start + ID_BATCH]
            for row in await self.execute(PAYMENTS_BY_REFERENCE, {"references": chunk}):
                found[row.reference] = (row.customer_id, row.loan_id, row.amount, row.paid_on)
        return found

    async def record_collected(
        self, settles: list[dict[str, Any]], records: list[dict[str, Any]]
    ) -> None:
        """Move many loans on and record their payments, in one transaction: all or nothing.
        A Conflict when a loan moved since it was read (another payment came first)."""
        async with self.transaction():
            connection = await self._connection()
            with driver_errors():
                if settles:
                    result = await connection.execute(MOVE_LOAN_ON, settles)
                    # Under the rows' lock (PostgreSQL) nothing moved; SQLite counts the rows.
                    counted = connection.dialect.supports_sane_multi_rowcount
                    if counted and result.rowcount != len(settles):
                        raise Conflict(
                            "a loan of the file was paid meanwhile; run the file again (the "
                            "rows applied so far stay applied and are skipped)"
                        )
                if records:
                    await connection.execute(RECORD_PAYMENT, records)
