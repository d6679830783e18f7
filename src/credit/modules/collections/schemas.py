"""What a collections job reports, and the upload's answer."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import msgspec


class CollectionsFileError(Exception):
    """The file cannot be applied at all (not CSV or xlsx, a missing column, no data rows):
    the job fails with this message and applies nothing."""


class RejectedRow(msgspec.Struct, frozen=True):
    row: int  # as a spreadsheet shows it: the header is row 1
    reference: str | None
    reason: str


class CollectionsReport(msgspec.Struct):
    rows: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: list[RejectedRow] = msgspec.field(default_factory=list)
    amount_applied: Decimal = Decimal("0.00")

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.applied} applied ({self.amount_applied:,.2f} rupees), "
            f"{self.duplicates} duplicates skipped, {len(self.rejected)} rejected"
        )


class ImportAccepted(msgspec.Struct):
    job_id: str

    example: ClassVar[dict[str, Any]] = {"job_id": "9b1c2d3e4f5a69788796a5b4c3d2e1f0"}
