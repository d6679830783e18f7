"""What an ingestion job reports: counts per sheet, rejected rows, remapped customer and loan
ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec

if TYPE_CHECKING:
    from credit.plugins.queue import JobState

Sheet = Literal["customers", "loans"]


class IngestError(Exception):
    """The workbooks cannot be ingested at all (not a workbook, missing columns, empty sheet).

    The job fails with this message and nothing is written.
    """


class RejectedRow(msgspec.Struct, frozen=True):
    sheet: Sheet
    row: int  # as Excel shows it: the header is row 1
    reason: str


class Remapping(msgspec.Struct, frozen=True):
    """A file `Loan ID` already held by another loan: the row got a new `loan_id`."""

    row: int
    customer_id: int
    source_loan_id: int
    loan_id: int


class CustomerRemapping(msgspec.Struct, frozen=True):
    """A file `Customer ID` held by a customer registered through the API: the row (and its
    loans) got a new `customer_id`."""

    row: int
    source_customer_id: int
    customer_id: int


class SheetCounts(msgspec.Struct):
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0


class IngestReport(msgspec.Struct):
    customers: SheetCounts
    loans: SheetCounts
    rejected: list[RejectedRow]
    remappings: list[Remapping]
    customer_remappings: list[CustomerRemapping] = msgspec.field(default_factory=list)

    def summary(self) -> str:
        def line(name: str, c: SheetCounts) -> str:
            return (
                f"{name}: {c.rows} rows, {c.inserted} inserted, {c.updated} updated, "
                f"{c.unchanged} unchanged, {c.rejected} rejected"
            )

        return "\n".join(
            [
                line("customers", self.customers),
                line("loans", self.loans),
                f"remapped customer ids: {len(self.customer_remappings)}",
                f"remapped loan ids: {len(self.remappings)}",
            ]
        )


class IngestAccepted(msgspec.Struct):
    job_id: str

    example: ClassVar[dict[str, Any]] = {"job_id": "3f1c9a52-8d1e-4b7a-9c61-0e2f5d7a4b10"}


class IngestProgress(msgspec.Struct):
    stage: str
    rows_done: int = 0


class IngestStatus(msgspec.Struct):
    job_id: str
    status: Literal["queued", "active", "complete", "failed"]
    progress: IngestProgress | None = None
    report: IngestReport | None = None
    error: str | None = None

    example: ClassVar[dict[str, Any]] = {
        "job_id": "3f1c9a52-8d1e-4b7a-9c61-0e2f5d7a4b10",
        "status": "complete",
        "progress": {"stage": "done", "rows_done": 1053},
        "report": {
            "customers": {
                "rows": 300,
                "inserted": 300,
                "updated": 0,
                "unchanged": 0,
                "rejected": 0,
            },
            "loans": {"rows": 753, "inserted": 752, "updated": 0, "unchanged": 0, "rejected": 1},
            "rejected": [{"sheet": "loans", "row": 41, "reason": "Customer ID: no such customer"}],
            "remappings": [
                {"row": 212, "customer_id": 118, "source_loan_id": 8461, "loan_id": 9001}
            ],
        },
    }

    @classmethod
    def of(cls, state: JobState) -> IngestStatus:
        """A job's state as status readers see it: the stage and rows done from its meta, the
        report once it is complete."""
        stage = state.meta.get("stage")
        progress = (
            IngestProgress(stage=str(stage), rows_done=int(state.meta.get("rows_done", 0)))
            if stage
            else None
        )
        complete = state.status == "complete" and state.result is not None
        return cls(
            job_id=state.job_id,
            status=state.status,
            progress=progress,
            report=msgspec.convert(state.result, IngestReport) if complete else None,
            error=state.error,
        )
