"""Asset classification at the close of a day (RBI's SMA/NPA rules, the contract's "Close
of day"): days past due on a date, the class they give, NPA kept until the arrears are
cleared, and borrower-wise NPA.

A loan's days past due on a date is what its standing shows on that date
(`statement.standing`, the one read of where a loan stands), taken from its state at the end
of that date: the installments settled by payments dated on or before it. `close_customer` is
that definition; `close_customer_flat` is the same rule over a loan's bare figures (start,
tenure, `s`, `B`), which the close of day runs on every loan of the book, and is tested
against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Literal, Protocol

import msgspec

from credit.lending.amortization import add_months
from credit.lending.servicing import LoanState
from credit.lending.statement import standing

Classification = Literal["standard", "SMA-0", "SMA-1", "SMA-2", "NPA"]
STANDARD: Classification = "standard"
SMA_0: Classification = "SMA-0"
SMA_1: Classification = "SMA-1"
SMA_2: Classification = "SMA-2"
NPA: Classification = "NPA"
# Best to worst: a customer's classification is the worst of their loans'.
CLASSES: tuple[Classification, ...] = (STANDARD, SMA_0, SMA_1, SMA_2, NPA)
RANK = {name: rank for rank, name in enumerate(CLASSES)}
# The upper bound (days past due, inclusive) of each class but NPA.
BOUNDS: tuple[tuple[int, Classification], ...] = (
    (0, STANDARD),
    (30, SMA_0),
    (60, SMA_1),
    (90, SMA_2),
)


def days_past_due_on(state: LoanState, on: date) -> int:
    """Days past due at the end of `on`, for the loan's state at the end of `on`: `on` minus
    the due date of the oldest installment not settled, 0 when none is past due (an
    installment due on `on` is not past due on `on`)."""
    return standing(state, on).days_past_due


def class_of(days_past_due: int) -> Classification:
    """The class days past due give alone: standard (0), SMA-0 (1-30), SMA-1 (31-60),
    SMA-2 (61-90), NPA (more than 90)."""
    for bound, name in BOUNDS:
        if days_past_due <= bound:
            return name
    return NPA


def classify(days_past_due: int, previous: str | None) -> Classification:
    """The loan's own class on a date, given its class at the previous close: an NPA stays
    NPA until all its arrears are paid (days past due 0, then standard)."""
    if previous == NPA and days_past_due > 0:
        return NPA
    return class_of(days_past_due)


def worst(classes: Iterable[Classification], default: Classification = STANDARD) -> Classification:
    """The worst of some classes (`default` for none)."""
    return max(classes, key=RANK.__getitem__, default=default)


def borrower_wise(classes: list[Classification]) -> list[Classification]:
    """A customer's loans' classes on a date: if any is NPA, every one is NPA."""
    return [NPA] * len(classes) if NPA in classes else list(classes)


class LaterPayment(msgspec.Struct, frozen=True):
    """A standing payment dated after a day being closed: the state it started from is the
    loan's state at the end of that day (`s = installment - 1`, `B` before it)."""

    paid_on: date
    installment: int
    balance_before: Decimal


def state_on(state: LoanState, later: list[LaterPayment], day: date) -> LoanState:
    """The loan's state at the end of `day`, from its state now and its standing payments in
    installment order: as before the first payment dated after `day`, or as it is now."""
    for payment in later:
        if payment.paid_on > day:
            return LoanState(
                state.terms,
                payment.balance_before,
                payment.installment - 1,
                state.monthly_installment,
            )
    return state


class DayFigures(msgspec.Struct, frozen=True):
    """A loan at the close of a day: its days past due, class and outstanding principal."""

    days_past_due: int
    classification: Classification
    outstanding: Decimal


def close_customer(
    states: list[tuple[LoanState, list[LaterPayment], Classification | None]], day: date
) -> list[DayFigures | None]:
    """One customer's loans at the close of `day`, each given its state now, its later
    payments and its class at the previous close: None for a loan not lent by `day` or
    without a balance at its end; else its days past due and class, borrower-wise."""
    found: list[tuple[int, int, Classification, Decimal]] = []
    for index, (state, later, previous) in enumerate(states):
        if state.terms.start_date > day:
            continue
        on_day = state_on(state, later, day)
        if on_day.closed:
            continue
        dpd = days_past_due_on(on_day, day)
        found.append((index, dpd, classify(dpd, previous), on_day.outstanding_principal))
    figures: list[DayFigures | None] = [None] * len(states)
    classes = borrower_wise([name for _, _, name, _ in found])
    for (index, dpd, _, outstanding), name in zip(found, classes, strict=True):
        figures[index] = DayFigures(dpd, name, outstanding)
    return figures


class FlatLoan(Protocol):
    """A loan's bare figures as the close of day reads them: its start, its tenure, `s` and
    `B` now (`B` worked out for a loan without payments, as `servicing.stored_state` does)."""

    @property
    def start_date(self) -> date: ...

    @property
    def installments_settled(self) -> int: ...

    @property
    def outstanding_principal(self) -> Decimal: ...


@lru_cache(maxsize=1 << 16)
def due_ordinal(start: date, installment: int) -> int:
    """The due date of an installment (`LoanTerms.due_date`) as a day number: the book's
    loans share few start dates, so the calendar arithmetic is done once for each."""
    return add_months(start, installment).toordinal()


def close_customer_flat(
    loans: Sequence[FlatLoan],
    later: Sequence[Sequence[LaterPayment]],
    previous: Sequence[Classification | None],
    day: date,
) -> list[DayFigures | None]:
    """`close_customer` over bare figures: the loan's state at the end of `day` (its later
    payments taken back, `state_on`), then its days past due: `day` minus the due date of
    installment `s + 1` when that is before `day` (`statement.standing`: it is the oldest
    unsettled installment, and due by the day before), else 0; the class with NPA kept
    (`classify`), borrower-wise."""
    ordinal = day.toordinal()
    found: list[tuple[int, int, Classification, Decimal]] = []
    any_npa = False
    for index, loan in enumerate(loans):
        if loan.start_date > day:
            continue
        settled, balance = loan.installments_settled, loan.outstanding_principal
        for payment in later[index]:
            if payment.paid_on > day:
                settled, balance = payment.installment - 1, payment.balance_before
                break
        if balance == 0:
            continue
        dpd = ordinal - due_ordinal(loan.start_date, settled + 1)
        if dpd <= 0:
            dpd = 0
            name: Classification = STANDARD
        elif previous[index] == NPA or dpd > 90:
            name = NPA
        elif dpd <= 30:
            name = SMA_0
        elif dpd <= 60:
            name = SMA_1
        else:
            name = SMA_2
        any_npa = any_npa or name == NPA
        found.append((index, dpd, name, balance))
    figures: list[DayFigures | None] = [None] * len(loans)
    for index, dpd, name, balance in found:
        figures[index] = DayFigures(dpd, NPA if any_npa else name, balance)
    return figures
