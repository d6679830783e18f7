"""The collections file's `Paid On`: the whole CSV cell is the date, nothing after it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from credit.modules.collections.reader import read_collections


def test_paid_on_is_the_whole_cell(tmp_path: Path) -> None:
    file = tmp_path / "collections.csv"
    file.write_text(
        "Reference,Customer ID,Loan ID,Amount,Paid On\n"
        "R1,1,1,100.00,2026-01-02\n"
        "R2,1,1,100.00,2026-01-02junk\n"
        "R3,1,1,100.00,2026-01-02T25:99\n"
        "R4,1,1,100.00,2026-02-30\n"
    )
    read = read_collections(file)
    assert [(row.reference, row.paid_on) for row in read.valid] == [("R1", date(2026, 1, 2))]
    reasons = {rejected.reference: rejected.reason for rejected in read.rejected}
    assert reasons == dict.fromkeys(("R2", "R3", "R4"), "Paid On is not a date (YYYY-MM-DD)")
