"""Planning ids: remapped Loan IDs, re-runs, unknown customers, phones held by others."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from credit.modules.ingest.plan import ExistingBook, plan_book
from credit.modules.ingest.reader import read_customers, read_loans
from tests.ingest_workbooks import (
    Book,
    customer,
    loan,
    small_book,
)


def book_after(plan_customers: pl.DataFrame, plan_loans: pl.DataFrame) -> ExistingBook:
    return ExistingBook(
        customers=plan_customers.select("id", "phone_number"),
        loans=plan_loans.select("id", "customer_id", "source_loan_id"),
    )


def test_whole_book_keeps_every_loan_and_remaps_the_reused_ids(book: Book) -> None:
    customers, loans = read_customers(book.customers), read_loans(book.loans)
    plan = plan_book(customers, loans, ExistingBook.empty())
    assert plan.loans.height == book.loan_rows
    assert plan.loans["id"].n_unique() == book.loan_rows
    assert plan.remappings.height == book.remapped_rows() > 0
    assert set(plan.remappings["source_loan_id"]) == book.duplicated_loan_ids()
    # The first row with an id keeps it; the later one gets an id above every file id.
    assert plan.remappings["id"].min() > loans.valid["source_loan_id"].max()
    kept = plan.loans.filter(pl.col("source_loan_id").is_in(list(book.duplicated_loan_ids())))
    assert kept.filter(pl.col("id") == pl.col("source_loan_id")).height == len(
        book.duplicated_loan_ids()
    )

    again = plan_book(customers, loans, book_after(plan.customers, plan.loans))
    assert again.loans.select("excel_row", "id").equals(plan.loans.select("excel_row", "id"))
    assert again.remappings.equals(plan.remappings)
    assert not again.loans["is_new"].any()
    assert not again.customers["is_new"].any()


def test_an_id_held_by_a_booked_loan_is_remapped(tmp_path: Path) -> None:
    paths = small_book(tmp_path, loans=[loan(1, 7), loan(2, 8)])
    existing = ExistingBook(
        customers=pl.DataFrame({"id": [1, 2], "phone_number": [9_000_000_001, 9_000_000_002]}),
        # An API-booked loan (no source id) already has id 7; the book's ids go up to 40.
        loans=pl.DataFrame(
            {"id": [7, 40], "customer_id": [2, 2], "source_loan_id": [None, None]},
            schema={"id": pl.Int64, "customer_id": pl.Int64, "source_loan_id": pl.Int64},
        ),
    )
    plan = plan_book(read_customers(paths[0]), read_loans(paths[1]), existing)
    assert plan.loans.select("source_loan_id", "id").rows() == [(7, 41), (8, 8)]
    assert plan.remappings.select("excel_row", "source_loan_id", "id").rows() == [(2, 7, 41)]


def test_loans_of_unknown_customers_and_taken_phones_are_rejected(tmp_path: Path) -> None:
    paths = small_book(
        tmp_path,
        customers=[customer(1), customer(2, **{"Phone Number": 9_111_111_111})],
        loans=[loan(1, 5), loan(2, 6), loan(3, 7), loan(9, 8)],
    )
    existing = ExistingBook(
        customers=pl.DataFrame({"id": [3, 4], "phone_number": [9_111_111_111, 9_222_222_222]}),
        loans=ExistingBook.empty().loans,
    )
    plan = plan_book(read_customers(paths[0]), read_loans(paths[1]), existing)
    assert plan.customers["id"].to_list() == [1]
    assert plan.rejected_customers.rows() == [(3, "Phone Number: already held by customer 3")]
    # Customer 3 is in the book already; 2 was rejected above; 9 exists nowhere.
    assert plan.loans["customer_id"].to_list() == [1, 3]
    assert plan.rejected_loans.rows() == [
        (3, "Customer ID: no customer 2 in the book"),
        (5, "Customer ID: no customer 9 in the book"),
    ]
