"""The bad-workbooks corpus in tests/data/bad/: `uv run python -m tests.make_bad_workbooks`.

Each case is a folder with a `customer_data.xlsx` and a `loan_data.xlsx`; one of the two has
the defect, the other is a small good file, so a case is exactly one upload. The outputs are
committed (all small; the zip bomb inflates to ~150 MB but packs to ~600 KB) and
`tests/integration/test_bad_workbooks.py` checks that this generator still makes them.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import xlsxwriter

from tests.ingest_workbooks import (
    CUSTOMER_HEADERS,
    LOAN_HEADERS,
    customer,
    loan,
    write_workbook,
)

BAD = Path(__file__).resolve().parent / "data" / "bad"
CUSTOMERS, LOANS = "customer_data.xlsx", "loan_data.xlsx"
GOOD_CUSTOMERS = [customer(1), customer(2), customer(3)]
GOOD_LOANS = [loan(1, 101), loan(2, 102), loan(3, 103)]
# Fixed timestamps so regenerating gives the same bytes.
ZIP_TIME = (2025, 1, 1, 0, 0, 0)


def _good(folder: Path, *, customers: bool = True, loans: bool = True) -> None:
    if customers:
        write_workbook(folder / CUSTOMERS, CUSTOMER_HEADERS, GOOD_CUSTOMERS)
    if loans:
        write_workbook(folder / LOANS, LOAN_HEADERS, GOOD_LOANS)


def _workbook(path: Path) -> xlsxwriter.Workbook:
    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties({"created": date(2025, 1, 1)})
    return workbook


def csv_renamed(folder: Path) -> None:
    """A CSV export saved with an .xlsx name."""
    rows = [",".join(CUSTOMER_HEADERS)] + [",".join(map(str, c)) for c in GOOD_CUSTOMERS]
    (folder / CUSTOMERS).write_text("\n".join(rows) + "\n")
    _good(folder, customers=False)


def zip_bomb(folder: Path) -> None:
    """A valid-looking workbook whose one sheet inflates to ~150 MB of repeated rows."""
    template = folder / "template.xlsx"
    write_workbook(template, LOAN_HEADERS, GOOD_LOANS)
    row = (
        b'<row><c t="n"><v>1</v></c><c t="n"><v>9</v></c><c t="n"><v>100000</v></c>'
        b'<c t="n"><v>12</v></c><c t="n"><v>10.5</v></c><c t="n"><v>8815</v></c>'
        b'<c t="n"><v>12</v></c><c t="n"><v>43861</v></c><c t="n"><v>44227</v></c></row>'
    )
    repeats = (150 * 1024**2) // len(row)
    with (
        zipfile.ZipFile(template) as source,
        zipfile.ZipFile(folder / LOANS, "w", compresslevel=9) as bomb,
    ):
        for info in source.infolist():
            data = source.read(info)
            target = zipfile.ZipInfo(info.filename, ZIP_TIME)
            target.compress_type = zipfile.ZIP_DEFLATED
            if info.filename != "xl/worksheets/sheet1.xml":
                bomb.writestr(target, data)
                continue
            head, _, tail = data.partition(b"</sheetData>")
            with bomb.open(target, "w", force_zip64=True) as sheet:
                sheet.write(head)
                chunk = row * 10_000
                for _ in range(repeats // 10_000):
                    sheet.write(chunk)
                sheet.write(b"</sheetData>" + tail)
    template.unlink()
    _good(folder, loans=False)


def formulas_and_merged_cells(folder: Path) -> None:
    """Amounts as formulas (no cached values) and a merged block across two loan rows."""
    workbook = _workbook(folder / LOANS)
    sheet = workbook.add_worksheet("Sheet1")
    sheet.write_row(0, 0, LOAN_HEADERS)
    date_cell = workbook.add_format({"num_format": 14})
    for r, values in enumerate(GOOD_LOANS, start=1):
        for c, value in enumerate(values):
            if isinstance(value, date):
                sheet.write_datetime(r, c, value, date_cell)
            else:
                sheet.write(r, c, value)
    sheet.write_formula(1, 2, "=50000*2")  # Loan Amount of row 2 as a formula
    sheet.merge_range(2, 3, 3, 4, "merged")  # Tenure/Interest Rate of rows 3-4 merged
    workbook.close()
    _good(folder, loans=False)


def text_in_numeric_columns(folder: Path) -> None:
    rows = [
        customer(1),
        customer(2, Age="forty"),
        customer(3, **{"Monthly Salary": "50,000 rupees"}),
        customer(4, **{"Phone Number": "98765-43210x"}),
    ]
    write_workbook(folder / CUSTOMERS, CUSTOMER_HEADERS, rows)
    _good(folder, customers=False)


def negative_and_absurd_values(folder: Path) -> None:
    rows = [
        loan(1, 101),
        loan(2, 102, **{"Loan Amount": -100_000}),
        loan(3, 103, Tenure=0),
        loan(1, 104, **{"Interest Rate": 1_000}),
        loan(2, 105, **{"Loan Amount": 1e18}),
        loan(3, 106, **{"EMIs paid on Time": -3}),
        loan(1, 107, Tenure=100_000),
    ]
    write_workbook(folder / LOANS, LOAN_HEADERS, rows)
    _good(folder, loans=False)


def dates_as_text(folder: Path) -> None:
    rows = [
        loan(1, 101),
        loan(2, 102, **{"Date of Approval": "31/01/2020", "End Date": "31/01/2021"}),
        loan(3, 103, **{"Date of Approval": "next tuesday"}),
    ]
    write_workbook(folder / LOANS, LOAN_HEADERS, rows)
    _good(folder, loans=False)


def duplicate_rows(folder: Path) -> None:
    write_workbook(folder / CUSTOMERS, CUSTOMER_HEADERS, [*GOOD_CUSTOMERS, customer(2)])
    write_workbook(folder / LOANS, LOAN_HEADERS, [*GOOD_LOANS, loan(1, 101), loan(1, 101)])


def empty_workbook(folder: Path) -> None:
    workbook = _workbook(folder / CUSTOMERS)
    workbook.add_worksheet("Sheet1")
    workbook.close()
    _good(folder, customers=False)


def header_only(folder: Path) -> None:
    write_workbook(folder / LOANS, LOAN_HEADERS, [])
    _good(folder, loans=False)


def wider_than_format(folder: Path) -> None:
    headers = [*CUSTOMER_HEADERS, "Notes", "Credit Card"]
    rows = [[*c, "vip", "4111111111111111"] for c in GOOD_CUSTOMERS]
    write_workbook(folder / CUSTOMERS, headers, rows)
    _good(folder, customers=False)


CASES: dict[str, Callable[[Path], None]] = {
    "csv_renamed": csv_renamed,
    "zip_bomb": zip_bomb,
    "formulas_and_merged_cells": formulas_and_merged_cells,
    "text_in_numeric_columns": text_in_numeric_columns,
    "negative_and_absurd_values": negative_and_absurd_values,
    "dates_as_text": dates_as_text,
    "duplicate_rows": duplicate_rows,
    "empty_workbook": empty_workbook,
    "header_only": header_only,
    "wider_than_format": wider_than_format,
}


def generate(out: Path = BAD) -> list[Path]:
    folders = []
    for name, make in CASES.items():
        folder = out / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        make(folder)
        folders.append(folder)
    return folders


if __name__ == "__main__":
    for folder in generate():
        size = sum(p.stat().st_size for p in folder.iterdir())
        print(f"{folder.relative_to(BAD.parent.parent)}: {size:,} bytes")
