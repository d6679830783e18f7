"""Planning ids: remapped Loan and Customer IDs, re-runs, unknown customers, phones held by
others."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from credit.modules.ingest.plan import (
    EXISTING_CUSTOMER_SCHEMA,
    SERVICED_TERMS,
    ExistingBook,
    plan_book,
    plan_customers,
)
from credit.modules.ingest.reader import read_customers, read_loans
from credit.modules.ingest.writer import fields
from tests.ingest_workbooks import (
    Book,
    customer,
    loan,
    small_book,
)


def book_after(plan_customers: pl.DataFrame, plan_loans: pl.DataFrame) -> ExistingBook:
    return ExistingBook(
        customers=plan_customers.select("id", "phone_number", "source_customer_id"),
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
        customers=loaded_customers([1, 2]),
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
        customers=loaded_customers([3, 4], phones=[9_111_111_111, 9_222_222_222]),
        loans=ExistingBook.empty().loans,
    )
    plan = plan_book(read_customers(paths[0]), read_loans(paths[1]), existing)
    assert plan.customers["id"].to_list() == [1]
    assert plan.rejected_customers.rows() == [(3, "Phone Number: already held by customer 3")]
    # Customer 3 is in the book already; 2 was rejected above; 9 exists nowhere.
    assert plan.loans["customer_id"].to_list() == [1, 3]
    assert plan.rejected_loans.rows() == [
        (3, "Customer ID: no customer 2 in the files loaded"),
        (5, "Customer ID: no customer 9 in the files loaded"),
    ]


def loaded_customers(
    ids: list[int], phones: list[int] | None = None, sources: list[int | None] | None = None
) -> pl.DataFrame:
    """Customers in the book: loaded from the files under their own ids unless `sources` says
    otherwise (None: registered through the API)."""
    return pl.DataFrame(
        {
            "id": ids,
            "phone_number": phones or [9_000_000_000 + i for i in ids],
            "source_customer_id": sources if sources is not None else ids,
        },
        schema=EXISTING_CUSTOMER_SCHEMA,
    )


def test_a_file_customer_never_overwrites_an_api_customer(tmp_path: Path) -> None:
    # Customer 3 was registered through the API; the file also has a customer 3.
    existing = ExistingBook(
        customers=loaded_customers([1, 3], sources=[1, None]), loans=ExistingBook.empty().loans
    )
    paths = small_book(
        tmp_path,
        customers=[customer(1), customer(3, **{"Phone Number": 9_333_333_333})],
        loans=[loan(1, 5), loan(3, 6)],
    )
    customers, loans = read_customers(paths[0]), read_loans(paths[1])
    plan = plan_book(customers, loans, existing)
    assert plan.customers.select("source_customer_id", "id", "is_new").rows() == [
        (1, 1, False),
        (3, 4, True),
    ]
    assert plan.customer_remappings.rows() == [(3, 3, 4)]
    # The file customer's loan follows it to its new id, not to the API customer.
    assert plan.loans.select("source_loan_id", "customer_id").rows() == [(5, 1), (6, 4)]

    rerun_book = ExistingBook(
        customers=pl.concat(
            [
                existing.customers.filter(pl.col("source_customer_id").is_null()),
                plan.customers.select(*EXISTING_CUSTOMER_SCHEMA),
            ]
        ),
        loans=plan.loans.select("id", "customer_id", "source_loan_id"),
    )
    again = plan_book(customers, loans, rerun_book)
    assert again.customers.select("source_customer_id", "id").rows() == [(1, 1), (3, 4)]
    assert not again.customers["is_new"].any()
    assert not again.loans["is_new"].any()
    assert again.customer_remappings.equals(plan.customer_remappings)


def test_a_loan_naming_only_an_api_customer_is_rejected(tmp_path: Path) -> None:
    existing = ExistingBook(
        customers=loaded_customers([7], sources=[None]), loans=ExistingBook.empty().loans
    )
    paths = small_book(tmp_path, customers=[customer(1)], loans=[loan(1, 5), loan(7, 6)])
    plan = plan_book(read_customers(paths[0]), read_loans(paths[1]), existing)
    assert plan.loans["customer_id"].to_list() == [1]
    assert plan.rejected_loans.rows() == [(3, "Customer ID: no customer 7 in the files loaded")]


def test_only_the_row_that_took_a_held_phone_is_rejected(tmp_path: Path) -> None:
    # Row 2 (customer 1) now carries customer 2's phone; row 3 (customer 2) is unchanged.
    existing = ExistingBook(customers=loaded_customers([1, 2]), loans=ExistingBook.empty().loans)
    paths = small_book(
        tmp_path,
        customers=[customer(1, **{"Phone Number": 9_000_000_002}), customer(2)],
        loans=[],
    )
    plan = plan_customers(read_customers(paths[0]), existing)
    assert plan.customers["id"].to_list() == [2]
    assert plan.rejected.rows() == [(2, "Phone Number: already held by customer 2")]


def test_a_phone_repeated_in_a_new_file_keeps_its_first_row(tmp_path: Path) -> None:
    paths = small_book(
        tmp_path,
        customers=[customer(1), customer(2, **{"Phone Number": 9_000_000_001}), customer(3)],
        loans=[],
    )
    plan = plan_customers(read_customers(paths[0]), ExistingBook.empty())
    assert plan.customers["id"].to_list() == [1, 3]
    assert plan.rejected.rows() == [(3, "Phone Number: repeats row 2")]


def test_a_loan_is_written_with_the_terms_the_plan_compares_a_serviced_loan_on() -> None:
    """The writer's columns come from the loans table's definition; a serviced loan is
    compared on exactly those the writer would change."""
    assert ("id", *SERVICED_TERMS) == fields.LOAN_FIELDS
    assert fields.LOAN_SERVICING_FIELDS == ("loaded_on", "installments_settled")
    assert fields.CUSTOMER_FIELDS == (
        "id",
        "source_customer_id",
        "first_name",
        "last_name",
        "age",
        "phone_number",
        "monthly_income",
        "approved_limit",
    )
    assert {
        name: fields.units_scale(name) for name in ("loan_amount", "interest_rate", "tenure")
    } == {
        "loan_amount": 2,
        "interest_rate": 4,
        "tenure": 0,
    }
