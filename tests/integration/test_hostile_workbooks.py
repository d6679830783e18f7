"""Workbooks built to hurt, through `POST /api/ingest`, on SQLite and PostgreSQL.

Each is a few kilobytes, made here by the test: a cell in the sheet's far corner, a far cell
under a small declared dimension, zip headers that lie about the inflated sizes, a hidden
first sheet, and parts that are not workbooks at all. Before, the first ones made the Excel
reader allocate without bound (the process aborted); now each is refused with a 400 before
anything is stored, or its job fails with a one-line reason, having written nothing and left
no upload behind.
"""

from __future__ import annotations

import os
import struct
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from litestar import Litestar
from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.settings import Settings
from tests.conftest import TODAY
from tests.ingest_workbooks import (
    CUSTOMER_HEADERS,
    LOAN_HEADERS,
    customer,
    loan,
    small_book,
    write_workbook,
)
from tests.integration.test_bad_workbooks import _rows
from tests.integration.test_ingest_http import wait_for

Client = AsyncTestClient[Litestar]


def files(customers: bytes, loans: bytes) -> dict[str, Any]:
    return {"customers": ("customer_data.xlsx", customers), "loans": ("loan_data.xlsx", loans)}


def far_corner(path: Path) -> Path:
    """The customers sheet with one more value in XFD1048576, the last cell Excel has."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Customers")
    sheet.write_row(0, 0, CUSTOMER_HEADERS)
    sheet.write_row(1, 0, customer(1))
    sheet.write_number("XFD1048576", 1)
    workbook.close()
    return path


def rewrite_sheet(path: Path, change: Any) -> Path:
    """The workbook at `path` with its sheet1.xml passed through `change`."""
    source = path.read_bytes()
    out = path.with_suffix(".changed.xlsx")
    with (
        zipfile.ZipFile(path) as original,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as changed,
    ):
        for info in original.infolist():
            content = original.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            changed.writestr(info.filename, content)
    assert source != out.read_bytes()
    return out


def far_cell_under_a_small_dimension(path: Path) -> Path:
    """Declares A1:G2, and holds a cell at XFD1048576 all the same."""
    write_workbook(path, CUSTOMER_HEADERS, [customer(1)])
    return rewrite_sheet(
        path,
        lambda xml: xml.replace(
            b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'
        ),
    )


def many_rows(path: Path, rows: int) -> Path:
    """A loans sheet of `rows` identical rows (each with its position): tens of MB of XML that
    pack to a few hundred KB."""
    write_workbook(path, LOAN_HEADERS, [loan(1, 1)])

    def grow(xml: bytes) -> bytes:
        head, _, _ = xml.partition(b"<sheetData>")
        head = head.replace(b'<dimension ref="A1:I2"/>', f'<dimension ref="A1:I{rows}"/>'.encode())
        body = b"".join(
            b'<row r="%d"><c r="A%d"><v>1</v></c><c r="B%d"><v>%d</v></c><c r="C%d"><v>100000'
            b'</v></c><c r="D%d"><v>12</v></c><c r="E%d"><v>10.5</v></c></row>'
            % (r, r, r, r, r, r, r)
            for r in range(2, rows + 1)
        )
        return head + b"<sheetData>" + body + b"</sheetData></worksheet>"

    return rewrite_sheet(path, grow)


def forge_sizes(path: Path, size: int) -> Path:
    """Every member's uncompressed size, in its local header and in the central directory,
    set to `size` (the data and its CRC stay as they are)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        offsets = [info.header_offset for info in archive.infolist()]
    for offset in offsets:
        assert data[offset : offset + 4] == b"PK\x03\x04"
        struct.pack_into("<I", data, offset + 22, size)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        struct.pack_into("<I", data, central + 24, size)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert {info.file_size for info in archive.infolist()} == {size}
    return path


def hidden_first_sheet(path: Path) -> Path:
    """An old sheet, hidden, in front of the visible one."""
    workbook = xlsxwriter.Workbook(str(path))
    old = workbook.add_worksheet("Old")
    current = workbook.add_worksheet("Customers")
    for sheet, salary in ((old, 999_999), (current, 50_000)):
        sheet.write_row(0, 0, CUSTOMER_HEADERS)
        sheet.write_row(1, 0, customer(1, **{"Monthly Salary": salary}))
    current.activate()
    old.hide()
    workbook.close()
    return path


def uploads_left(settings: Settings) -> list[Path]:
    return [p for p in settings.upload_dir.rglob("*") if p.is_file()]


@pytest.fixture
def good(tmp_path: Path) -> tuple[bytes, bytes]:
    customers, loans = small_book(tmp_path / "good")
    return customers.read_bytes(), loans.read_bytes()


async def _fails_cleanly(
    client: Client, settings: Settings, customers: bytes, loans: bytes, reason: str
) -> str:
    accepted = await client.post("/api/ingest", files=files(customers, loans))
    assert accepted.status_code == 202, accepted.text
    done = await wait_for(client, accepted.json()["job_id"])
    assert done["status"] == "failed", done
    assert reason in done["error"], done["error"]
    assert "Traceback" not in done["error"]
    assert (await _rows(settings.database_url))[:2] == (0, 0)
    assert uploads_left(settings) == []
    error: str = done["error"]
    return error


async def test_a_value_in_the_last_cell_fails_the_job_before_the_reader_sees_it(
    client: Client, settings: Settings, good: tuple[bytes, bytes], tmp_path: Path
) -> None:
    """5 KB that asked the reader for 512 GiB (the process aborted)."""
    bomb = far_corner(tmp_path / "far.xlsx").read_bytes()
    assert len(bomb) < 10_000
    error = await _fails_cleanly(client, settings, bomb, good[1], "declares 1,048,576 rows")
    assert "16,384 columns" in error


async def test_a_cell_outside_the_declared_dimension_fails_the_job(
    client: Client, settings: Settings, good: tuple[bytes, bytes], tmp_path: Path
) -> None:
    liar = far_cell_under_a_small_dimension(tmp_path / "liar.xlsx").read_bytes()
    await _fails_cleanly(
        client, settings, liar, good[1], "has row 1048576, outside its declared dimension"
    )
    cell_only = rewrite_sheet(
        tmp_path / "liar.xlsx",
        lambda xml: xml.replace(b'<c r="A2"', b'<c r="XFD2"', 1),
    ).read_bytes()
    await _fails_cleanly(
        client, settings, cell_only, good[1], "has a cell at XFD2, outside its declared"
    )


async def test_forged_zip_sizes_do_not_get_past_the_inflation_check(
    settings: Settings, good: tuple[bytes, bytes], tmp_path: Path
) -> None:
    """A workbook that inflates to ~8 MB, its headers claiming 1,000 bytes a part: refused
    by what inflating it really gives, against a 2 MB limit (the check used to add up the
    headers' sizes and let it through)."""
    big = many_rows(tmp_path / "big.xlsx", rows=50_000)
    with zipfile.ZipFile(big) as archive:
        assert sum(info.file_size for info in archive.infolist()) > 6 * 1024**2
    forged = forge_sizes(big, 1_000).read_bytes()
    assert len(forged) < 1024**2
    limited = replace(settings, max_workbook_inflated_bytes=2 * 1024**2)
    async with AsyncTestClient(app=create_app(limited, clock=FixedClock(TODAY))) as client:
        await _fails_cleanly(client, limited, good[0], forged, "inflates to more than 2 MB")


async def test_a_hidden_first_sheet_is_refused_with_that_reason(
    client: Client, settings: Settings, good: tuple[bytes, bytes], tmp_path: Path
) -> None:
    hidden = hidden_first_sheet(tmp_path / "hidden.xlsx").read_bytes()
    refused = await client.post("/api/ingest", files=files(hidden, good[1]))
    assert refused.status_code == 400, refused.text
    assert "first sheet 'Old' is hidden" in refused.json()["detail"]
    assert refused.json()["extra"][0]["key"] == "customers"
    assert uploads_left(settings) == []
    assert (await _rows(settings.database_url))[:2] == (0, 0)


def _zip_of_text(path: Path) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    return path.read_bytes()


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        ("empty", "not a zip file"),
        ("random", "not a zip file"),
        ("zip_of_text", "no [Content_Types].xml"),
        ("truncated", "not an Excel workbook"),
    ],
)
async def test_a_part_that_is_not_a_workbook_is_refused_at_once(
    client: Client,
    settings: Settings,
    good: tuple[bytes, bytes],
    tmp_path: Path,
    part: str,
    reason: str,
) -> None:
    content = {
        "empty": b"",
        "random": os.urandom(4096),
        "zip_of_text": _zip_of_text(tmp_path / "notes.zip"),
        "truncated": good[1][: len(good[1]) // 2],
    }[part]
    refused = await client.post("/api/ingest", files=files(good[0], content))
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert reason in body["detail"]
    assert body["extra"][0]["key"] == "loans"
    assert uploads_left(settings) == []


def bad_cells_book(folder: Path) -> tuple[bytes, bytes]:
    """Rows 2 and 8 of the customers and rows 2-3 of the loans are good; every other row has
    one cell the service cannot store and read back."""
    customers = [
        customer(1),
        customer(2, **{"First Name": "Ra\x00vi"}),  # NUL: PostgreSQL cannot store it
        customer(3, **{"Last Name": "Iyer\x07"}),  # BEL
        customer(4, **{"First Name": "Ann\u202e"}),  # right-to-left override
        customer(5, **{"Last Name": "\u200b"}),  # only a zero-width space
        customer(6, **{"First Name": "Ra\nvi"}),  # a line break
        customer(2**62, **{"Phone Number": 9_000_000_099}),  # no JSON client reads it exactly
        customer(7),
    ]
    loans = [
        loan(1, 101),
        loan(7, 102),
        # Excel serials past 31 Dec 9999 and before 1900, formatted as dates.
        loan(1, 103, **{"Date of Approval": 3_000_000, "End Date": 3_000_366}),
        loan(1, 104, **{"Date of Approval": 0.5, "End Date": 366.5}),
        loan(1, 2**62),
    ]
    paths = small_book(folder, customers, [])
    return paths[0].read_bytes(), dated_numbers(folder / "loans.xlsx", loans).read_bytes()


def dated_numbers(path: Path, rows: list[list[Any]]) -> Path:
    """The loans sheet with plain numbers in the date columns shown as dates (Excel serials)."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Loans")
    as_date = workbook.add_format({"num_format": 14})
    sheet.write_row(0, 0, LOAN_HEADERS)
    dates = {LOAN_HEADERS.index("Date of Approval"), LOAN_HEADERS.index("End Date")}
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if c in dates and isinstance(value, int | float):
                sheet.write_number(r, c, value, as_date)
            elif c in dates:
                sheet.write_datetime(r, c, value, as_date)
            else:
                sheet.write_number(r, c, value)
    workbook.close()
    return path


async def test_a_bad_cell_rejects_its_row_not_the_book(client: Client, tmp_path: Path) -> None:
    """On PostgreSQL the NUL failed the whole job with a raw driver message; on SQLite the
    rows loaded, and the loans' statements answered 500 from then on."""
    customers, loans = bad_cells_book(tmp_path / "bad_cells")
    accepted = await client.post("/api/ingest", files=files(customers, loans))
    assert accepted.status_code == 202
    done = await wait_for(client, accepted.json()["job_id"])
    assert done["status"] == "complete", done
    report = done["report"]
    rejected = {(r["sheet"], r["row"]): r["reason"] for r in report["rejected"]}
    past_the_calendar = "Date of Approval: outside the years 1900-9999"
    for row in (4, 5):  # with what else these dates break (the end date's rules)
        assert rejected.pop(("loans", row)).startswith(past_the_calendar)
    invisible = "holds a control, zero-width, direction or line-break character"
    assert rejected == {
        ("customers", 3): f"First Name: {invisible}",
        ("customers", 4): f"Last Name: {invisible}",
        ("customers", 5): f"First Name: {invisible}",
        ("customers", 6): f"Last Name: {invisible}",
        ("customers", 7): f"First Name: {invisible}",
        ("customers", 8): "Customer ID: above 4,503,599,627,370,495",
        ("loans", 6): "Loan ID: above 4,503,599,627,370,495",
    }
    assert report["customers"]["inserted"] == 2
    assert report["loans"]["inserted"] == 2
    # What was stored reads back; the API's own ids stay exact for a JSON client.
    for customer_id, loan_id in ((1, 101), (7, 102)):
        for path in (
            f"/api/view-loan/{loan_id}",
            f"/api/loans/{loan_id}/schedule",
            f"/api/view-statement/{customer_id}/{loan_id}",
            f"/api/customers/{customer_id}",
        ):
            answer = await client.get(path)
            assert answer.status_code == 200, (path, answer.text)
    registered = await client.post(
        "/api/register",
        json={
            "first_name": "Kavya",
            "last_name": "Iyer",
            "age": 29,
            "monthly_income": 64_321,
            "phone_number": 9_812_345_670,
        },
    )
    assert registered.status_code == 201
    assert registered.json()["customer_id"] <= 2**53 - 1
