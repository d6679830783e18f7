"""Reading and validating workbooks: whole-file failures and per-row rejections."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from credit.modules.ingest.reader import read_customers, read_loans
from credit.modules.ingest.schemas import IngestError
from tests.ingest_workbooks import (
    CUSTOMER_HEADERS,
    LOAN_HEADERS,
    Book,
    customer,
    loan,
    write_workbook,
)


def reasons(sheet: object) -> dict[int, str]:
    rejected = sheet.rejected  # type: ignore[attr-defined]
    return dict(zip(rejected["excel_row"], rejected["reason"], strict=True))


def test_whole_files_are_read_without_rejections(book: Book) -> None:
    customers, loans = read_customers(book.customers), read_loans(book.loans)
    assert (customers.valid.height, customers.rejected.height) == (book.customer_rows, 0)
    assert (loans.valid.height, loans.rejected.height) == (book.loan_rows, 0)
    first, first_row = customers.valid.row(0, named=True), book.customer_frame.row(0, named=True)
    assert first["id"] == first_row["Customer ID"]
    assert first["first_name"] == first_row["First Name"]
    assert first["monthly_income"] == first_row["Monthly Salary"] * 100  # paise
    # The rate in 1/10,000 % (8.2 % is 82,000).
    rate = round(book.first_loan()["Interest Rate"] * 10_000)
    assert loans.valid["interest_rate"].to_list()[0] == rate
    assert loans.valid["start_date"].dtype.is_temporal()


def test_missing_and_unknown_columns_fail_naming_them(tmp_path: Path) -> None:
    headers = [h for h in CUSTOMER_HEADERS if h != "Age"] + ["Credit Score"]
    rows = [[v for h, v in zip(CUSTOMER_HEADERS, customer(1), strict=True) if h != "Age"] + [7]]
    path = write_workbook(tmp_path / "c.xlsx", headers, rows)
    with pytest.raises(IngestError, match=r"missing columns: Age; unknown columns: Credit Score"):
        read_customers(path)


def test_a_file_that_is_not_a_workbook_fails(tmp_path: Path) -> None:
    path = tmp_path / "loans.xlsx"
    path.write_text("Customer ID,Loan ID\n1,2\n")
    with pytest.raises(IngestError, match="not an Excel workbook"):
        read_loans(path)


def test_empty_sheets_fail(tmp_path: Path) -> None:
    header_only = write_workbook(tmp_path / "h.xlsx", LOAN_HEADERS, [])
    with pytest.raises(IngestError, match="has no data rows"):
        read_loans(header_only)
    blank = write_workbook(tmp_path / "b.xlsx", [], [])
    with pytest.raises(IngestError, match="missing columns"):
        read_customers(blank)


def test_wrong_types_and_missing_values_are_rejected_with_excel_rows(tmp_path: Path) -> None:
    rows = [
        customer(1),
        customer(2, Age="forty"),
        customer(3, **{"Monthly Salary": None}),
        customer(4, Age=40.5),
        customer(5, **{"Monthly Salary": 1000.005}),
        customer(6, **{"Phone Number": 12345}),
        customer(7, **{"First Name": "   "}),
    ]
    sheet = read_customers(write_workbook(tmp_path / "c.xlsx", CUSTOMER_HEADERS, rows))
    assert sheet.valid["id"].to_list() == [1]
    assert reasons(sheet) == {
        3: "Age: not a whole number",
        4: "Monthly Salary: missing",
        5: "Age: not a whole number",
        6: "Monthly Salary: not an amount with at most 2 decimals",
        7: "Phone Number: below 1,000,000,000",
        8: "First Name: blank",
    }


def test_a_missing_file_says_no_such_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"^The loans file 'gone.xlsx': no such file\.$"):
        read_loans(tmp_path / "gone.xlsx")


def test_a_rejection_names_the_column_and_the_problem_never_the_cell(tmp_path: Path) -> None:
    """Cells hold personal data: a report (and any log of it) must not quote them."""
    rows = [
        customer(1, **{"Phone Number": "+91 9629317944"}),
        customer(2, **{"Monthly Salary": "55,250 INR"}),
        customer(3, **{"Monthly Salary": 1234.567}),
        customer(4, Age="Forty-seven", **{"Approved Limit": "18 lakh"}),
    ]
    sheet = read_customers(write_workbook(tmp_path / "c.xlsx", CUSTOMER_HEADERS, rows))
    assert reasons(sheet) == {
        2: "Phone Number: not a whole number",
        3: "Monthly Salary: not an amount with at most 2 decimals",
        4: "Monthly Salary: not an amount with at most 2 decimals",
        5: "Age: not a whole number; Approved Limit: not an amount with at most 2 decimals",
    }
    shown = " ".join(reasons(sheet).values())
    for cell in ("9629317944", "55,250", "1234", "Forty", "18 lakh"):
        assert cell not in shown


def test_loan_rules_dates_and_repeats(tmp_path: Path) -> None:
    rows = [
        loan(1, 10),
        loan(1, 11, **{"End Date": date(2021, 2, 28)}),
        loan(1, 12, **{"Date of Approval": "soon"}),
        loan(1, 13, **{"EMIs paid on Time": 13}),
        loan(1, 10),  # the same customer's Loan ID again
        loan(2, 10),  # another customer's: kept here, remapped later
        # Clamped to the month's end: 31 Jan 2020 + 1 month is 29 Feb 2020.
        loan(3, 14, Tenure=1, **{"End Date": date(2020, 2, 29), "EMIs paid on Time": 1}),
    ]
    sheet = read_loans(write_workbook(tmp_path / "l.xlsx", LOAN_HEADERS, rows))
    assert sheet.valid["excel_row"].to_list() == [2, 7, 8]
    assert reasons(sheet) == {
        3: "End Date: not Date of Approval + Tenure months",
        4: "Date of Approval: not a date",
        5: "EMIs paid on Time: more than Tenure",
        6: "Customer ID and Loan ID: repeats row 2",
    }


def test_repeated_customer_ids_keep_the_first_row(tmp_path: Path) -> None:
    rows = [customer(1), customer(1, Age=50), customer(2, **{"Phone Number": 9_000_000_001})]
    sheet = read_customers(write_workbook(tmp_path / "c.xlsx", CUSTOMER_HEADERS, rows))
    # A repeated phone is the plan's to settle: it knows who holds the phone in the book.
    assert sheet.valid["excel_row"].to_list() == [2, 4]
    assert reasons(sheet) == {3: "Customer ID: repeats row 2"}
