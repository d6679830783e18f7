"""Synthetic books in exactly the original workbooks' format (`credit sample-data`).

Same sheet name, headers and cell types as `customer_data.xlsx` and `loan_data.xlsx`: numbers
as numeric cells, names as text, dates as date-formatted numeric cells (m/d/yyyy). Values stay
in the originals' ranges; a loan's end date is its approval date plus its tenure in months
(same day, clamped to the month's end). The originals' quirks are there too: a few `Loan ID`s
are reused for another customer's loan (so the remapping path runs), about a third of the
recorded monthly payments differ from the compound-interest EMI (as every one in the real file
does; the rest are that EMI rounded to the rupee), and most loans ended in the past. The same
seed gives the same files.
"""

from __future__ import annotations

import calendar
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import xlsxwriter

from credit.modules.ingest.reader import CUSTOMER_COLUMNS, LOAN_COLUMNS

CUSTOMERS_FILE = "customer_data.xlsx"
LOANS_FILE = "loan_data.xlsx"
SHEET = "Sheet1"
DATE_FORMAT = 14  # Excel's built-in short date, as in the original loan file
# A fixed creation time keeps the files byte-for-byte the same for the same seed.
CREATED = datetime(2024, 1, 1, tzinfo=UTC)

FIRST_NAMES = [
    "Aarav",
    "Aditi",
    "Akash",
    "Ananya",
    "Arjun",
    "Bhavna",
    "Chetan",
    "Deepa",
    "Divya",
    "Farhan",
    "Gaurav",
    "Isha",
    "Karan",
    "Kavya",
    "Lakshmi",
    "Manish",
    "Meera",
    "Mohan",
    "Neha",
    "Nikhil",
    "Pooja",
    "Priya",
    "Rahul",
    "Ravi",
    "Rohan",
    "Sana",
    "Sanjay",
    "Shreya",
    "Suresh",
    "Tara",
    "Uday",
    "Varun",
    "Vikram",
    "Yash",
    "Zoya",
    "Aaron",
    "Abbey",
    "Carlos",
    "Maria",
    "Sofia",
]
LAST_NAMES = [
    "Agarwal",
    "Bose",
    "Chopra",
    "Das",
    "Desai",
    "Gupta",
    "Iyer",
    "Jain",
    "Joshi",
    "Kapoor",
    "Khan",
    "Kumar",
    "Mehta",
    "Menon",
    "Mishra",
    "Nair",
    "Patel",
    "Pillai",
    "Rao",
    "Reddy",
    "Saxena",
    "Shah",
    "Sharma",
    "Singh",
    "Verma",
    "Garcia",
    "Gonzalez",
    "Lopez",
    "Fernandez",
]


@dataclass(frozen=True)
class SampleBook:
    customers_path: Path
    loans_path: Path


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def emi(principal: int, yearly_rate: float, tenure: int) -> int:
    r = yearly_rate / 12 / 100
    if r == 0:
        return round(principal / tenure)
    growth = (1 + r) ** tenure
    return round(principal * r * growth / (growth - 1))


# Share of loans whose recorded monthly payment is not the formula's, and how far off it is.
RECORDED_EMI_DRIFT_SHARE = 1 / 3
RECORDED_EMI_DRIFT = (0.5, 2.1)


def write_sample_book(
    out_dir: Path, customers: int, loans: int, seed: int, duplicated_ids: int | None = None
) -> SampleBook:
    """Write both workbooks into `out_dir`; `duplicated_ids` defaults to about 1 in 27 loans."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    book = SampleBook(out_dir / CUSTOMERS_FILE, out_dir / LOANS_FILE)
    salaries = _write_customers(book.customers_path, customers, rng)
    if duplicated_ids is None:
        duplicated_ids = max(1, loans // 27) if customers > 1 and loans > 1 else 0
    # Its own stream, so the drift leaves every other value of a seed's book as it was.
    drift = random.Random(f"{seed}:recorded-emi")
    _write_loans(book.loans_path, loans, salaries, duplicated_ids, rng, drift)
    return book


def _workbook(path: Path) -> xlsxwriter.Workbook:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    workbook.set_properties({"created": CREATED})
    return workbook


def _write_customers(path: Path, count: int, rng: random.Random) -> list[int]:
    workbook = _workbook(path)
    sheet = workbook.add_worksheet(SHEET)
    sheet.write_row(0, 0, [c.header for c in CUSTOMER_COLUMNS])
    phones = rng.sample(range(9_000_000_000, 9_999_999_999), count)
    salaries: list[int] = []
    for i in range(count):
        salary = rng.randrange(25, 300) * 1000
        # The originals' approved limit: 36 x salary to the nearest lakh.
        limit = round(36 * salary / 100_000) * 100_000
        sheet.write_number(i + 1, 0, i + 1)
        sheet.write_string(i + 1, 1, rng.choice(FIRST_NAMES))
        sheet.write_string(i + 1, 2, rng.choice(LAST_NAMES))
        sheet.write_number(i + 1, 3, rng.randint(21, 70))
        sheet.write_number(i + 1, 4, phones[i])
        sheet.write_number(i + 1, 5, salary)
        sheet.write_number(i + 1, 6, limit)
        salaries.append(salary)
    workbook.close()
    return salaries


def recorded_emi(principal: int, yearly_rate: float, tenure: int, drift: random.Random) -> int:
    """The monthly payment as the book records it: mostly the EMI, sometimes not."""
    formula = emi(principal, yearly_rate, tenure)
    if drift.random() >= RECORDED_EMI_DRIFT_SHARE:
        return formula
    factor = drift.uniform(*RECORDED_EMI_DRIFT)
    off = round(formula * factor)
    return off if abs(off - formula) > 1 else formula + 2


def _write_loans(
    path: Path,
    count: int,
    salaries: list[int],
    duplicated: int,
    rng: random.Random,
    drift: random.Random,
) -> None:
    workbook = _workbook(path)
    sheet = workbook.add_worksheet(SHEET)
    date_cell = workbook.add_format({"num_format": DATE_FORMAT})
    sheet.write_row(0, 0, [c.header for c in LOAN_COLUMNS])
    customers = [rng.randrange(len(salaries)) + 1 for _ in range(count)]
    loan_ids = rng.sample(range(1000, 1000 + max(10 * count, 9000)), count)
    # Reuse an earlier loan's id for a later loan of a different customer.
    for row in rng.sample(range(1, count), min(duplicated, count - 1)) if count > 1 else []:
        earlier = rng.randrange(row)
        if customers[earlier] != customers[row]:
            loan_ids[row] = loan_ids[earlier]
    seen: set[tuple[int, int]] = set()
    first_day, days = date(2010, 1, 1), (date(2023, 8, 31) - date(2010, 1, 1)).days
    for i in range(count):
        if (customers[i], loan_ids[i]) in seen:  # a customer never repeats a Loan ID
            loan_ids[i] = 1000 + 10 * count + i
        seen.add((customers[i], loan_ids[i]))
        amount = rng.randrange(1, 11) * 100_000
        tenure = rng.randrange(3, 181)
        rate = rng.randrange(800, 1801) / 100
        approved = first_day + timedelta(days=rng.randrange(days + 1))
        row = i + 1
        sheet.write_number(row, 0, customers[i])
        sheet.write_number(row, 1, loan_ids[i])
        sheet.write_number(row, 2, amount)
        sheet.write_number(row, 3, tenure)
        sheet.write_number(row, 4, rate)
        sheet.write_number(row, 5, recorded_emi(amount, rate, tenure, drift))
        sheet.write_number(row, 6, rng.randint(0, tenure))
        sheet.write_datetime(row, 7, approved, date_cell)
        sheet.write_datetime(row, 8, add_months(approved, tenure), date_cell)
    workbook.close()
