"""The Operations screen: upload the lender's two workbooks (write scope, as
`POST /api/ingest`), then follow the job: a progress bar that htmx refreshes until the job
ends, then its report with every rejected row and why. A job's page has its own address, so
an operator can come back to a report."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio
from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.status_codes import HTTP_400_BAD_REQUEST

from credit.modules.console.officer import Officer
from credit.modules.console.pages import page, see_other
from credit.modules.ingest.api import IngestStatus, refuse_non_workbooks, store_uploads
from credit.plugins.queue import JobRunner
from credit.settings import Settings

JobIdPath = Annotated[str, Parameter(max_length=64)]
BOOK_FILES = ("customers", "loans")
# How far along each stage of an ingestion is, for the bar (the job reports stages, not a total).
INGEST_STAGES = {
    "queued": 0,
    "reading": 10,
    "writing customers": 35,
    "reading loans": 55,
    "writing loans": 70,
    "committing": 90,
    "done": 100,
}


def bar(status: IngestStatus) -> dict[str, Any]:
    stage = status.progress.stage if status.progress else status.status
    done = status.status in ("complete", "failed")
    return {
        "job": status,
        "stage": stage,
        "percent": 100 if done else INGEST_STAGES.get(stage, 5),
        "rows_done": status.progress.rows_done if status.progress else 0,
        "finished": done,
    }


def refused(exc: ValidationException) -> list[dict[str, Any]]:
    """The fields a validation error names (its `extra`)."""
    return [item for item in exc.extra or [] if isinstance(item, dict)]


class OperationsController(Controller):
    path = "/console/operations"

    @get("/", name="console:operations")
    async def operations(self, officer: NamedDependency[Officer]) -> Response[Any]:
        return page("operations.html", officer, errors={})

    @post("/ingest", name="console:ingest")
    async def ingest(
        self,
        request: HTMXRequest,
        officer: NamedDependency[Officer],
        settings: NamedDependency[Settings],
        job_runner: NamedDependency[JobRunner],
        today: NamedDependency[date],
    ) -> Response[Any]:
        officer.require_write()
        form = await request.form()
        books: dict[str, bytes] = {}
        errors: dict[str, str] = {}
        for name in BOOK_FILES:
            upload = form.get(name)
            if isinstance(upload, UploadFile) and upload.filename:
                books[name] = await upload.read()
            else:
                errors[name] = f"Choose the {name} workbook."
        if not errors:
            try:
                await anyio.to_thread.run_sync(refuse_non_workbooks, books)
            except ValidationException as exc:
                errors = {str(item["key"]): str(item["message"]) for item in refused(exc)}
        if errors:
            return page("operations.html", officer, status_code=HTTP_400_BAD_REQUEST, errors=errors)
        customers, loans = await store_uploads(
            settings.upload_dir, customers=books["customers"], loans=books["loans"]
        )
        job_id = await job_runner.enqueue(
            "ingest_book",
            customers_path=str(customers),
            loans_path=str(loans),
            as_of=today.isoformat(),
        )
        return see_other(f"/console/operations/jobs/{job_id}")

    async def _status(self, job_runner: JobRunner, job_id: str) -> IngestStatus:
        state = await job_runner.state(job_id)
        if state is None:
            raise NotFoundException(detail=f"Ingestion job {job_id} not found.")
        return IngestStatus.of(state)

    @get("/jobs/{job_id:str}", name="console:job")
    async def job(
        self,
        request: HTMXRequest,
        job_id: JobIdPath,
        officer: NamedDependency[Officer],
        job_runner: NamedDependency[JobRunner],
    ) -> Response[Any]:
        """The job's page; to htmx's polling, the bar alone, and once the job has ended its
        report (without the polling attribute, so the polling stops)."""
        template = "_job.html" if request.htmx else "job.html"
        return page(template, officer, **bar(await self._status(job_runner, job_id)))
