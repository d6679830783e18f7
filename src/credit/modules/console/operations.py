"""The Operations screen: load the lender's two workbooks (as `POST /api/ingest`), apply the
bank's collections file (as `POST /api/payments/import`), and close the day (as
`POST /api/close-day`), each a write; then follow the job on its own page: a progress bar
that htmx refreshes until the job ends, then its report (rejected rows and why, or the days
closed). The last closed day is shown beside the button."""

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

from credit.modules.collections.api import IMPORT_JOB, store_upload
from credit.modules.console.officer import Officer
from credit.modules.console.pages import page, see_other
from credit.modules.ingest.api import refuse_non_workbooks, store_uploads
from credit.modules.portfolio.api import CLOSE_JOB
from credit.modules.portfolio.service import PortfolioService
from credit.plugins.job_status import JobStatus
from credit.plugins.queue import JobRunner
from credit.settings import Settings

JobIdPath = Annotated[str, Parameter(max_length=64)]
BOOK_FILES = ("customers", "loans")
# How far along each stage is, for the bar: the jobs report stages (and rows done), not a
# total. An unknown stage shows a bar without a value (the browser's "under way").
STAGES = {
    "reading": 10,
    "writing customers": 35,
    "reading loans": 55,
    "writing loans": 70,
    "checking references": 30,
    "applying": 60,
    "claiming": 10,
    "reading payments": 25,
    "classifying": 50,
    "writing": 75,
    "committing": 90,
    "done": 100,
}


def kind_of(report: Any) -> str:
    """Which job a report is from, by its shape (ingestion, collections, close of day)."""
    if isinstance(report, dict):
        if "customers" in report:
            return "ingest"
        if "applied" in report:
            return "collections"
        if "closed" in report:
            return "close"
    return "job"


def bar(status: JobStatus) -> dict[str, Any]:
    stage = status.progress.stage if status.progress else status.status
    finished = status.status in ("complete", "failed")
    return {
        "job": status,
        "kind": kind_of(status.report),
        "stage": stage,
        "percent": 100 if finished else STAGES.get(stage),
        "rows_done": status.progress.rows_done if status.progress else 0,
        "finished": finished,
    }


def refused(exc: ValidationException) -> list[dict[str, Any]]:
    """The fields a validation error names (its `extra`)."""
    return [item for item in exc.extra or [] if isinstance(item, dict)]


class OperationsController(Controller):
    path = "/console/operations"

    async def _screen(
        self,
        officer: Officer,
        portfolio_service: PortfolioService,
        today: date,
        status_code: int = 200,
        errors: dict[str, str] | None = None,
    ) -> Response[Any]:
        return page(
            "operations.html",
            officer,
            status_code=status_code,
            errors=errors or {},
            last_closed=await portfolio_service.latest_closed(),
            today=today,
        )

    @get("/", name="console:operations")
    async def operations(
        self,
        officer: NamedDependency[Officer],
        portfolio_service: NamedDependency[PortfolioService],
        today: NamedDependency[date],
    ) -> Response[Any]:
        return await self._screen(officer, portfolio_service, today)

    @post("/ingest", name="console:ingest")
    async def ingest(
        self,
        request: HTMXRequest,
        officer: NamedDependency[Officer],
        settings: NamedDependency[Settings],
        job_runner: NamedDependency[JobRunner],
        portfolio_service: NamedDependency[PortfolioService],
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
            return await self._screen(
                officer, portfolio_service, today, HTTP_400_BAD_REQUEST, errors
            )
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

    @post("/collections", name="console:collections")
    async def collections(
        self,
        request: HTMXRequest,
        officer: NamedDependency[Officer],
        settings: NamedDependency[Settings],
        job_runner: NamedDependency[JobRunner],
        portfolio_service: NamedDependency[PortfolioService],
        today: NamedDependency[date],
    ) -> Response[Any]:
        officer.require_write()
        upload = (await request.form()).get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            errors = {"file": "Choose the bank's file (CSV or xlsx)."}
            return await self._screen(
                officer, portfolio_service, today, HTTP_400_BAD_REQUEST, errors
            )
        path = await store_upload(settings.upload_dir, await upload.read())
        job_id = await job_runner.enqueue(IMPORT_JOB, path=str(path), as_of=today.isoformat())
        return see_other(f"/console/operations/jobs/{job_id}")

    @post("/close-day", name="console:close-day")
    async def close_day(
        self,
        officer: NamedDependency[Officer],
        job_runner: NamedDependency[JobRunner],
        today: NamedDependency[date],
    ) -> Response[Any]:
        """Closes every day up to yesterday not closed yet (the first close: yesterday)."""
        officer.require_write()
        job_id = await job_runner.enqueue(CLOSE_JOB, until=None, today=today.isoformat())
        return see_other(f"/console/operations/jobs/{job_id}")

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
        state = await job_runner.state(job_id)
        if state is None:
            raise NotFoundException(detail=f"Job {job_id} not found.")
        template = "_job.html" if request.htmx else "job.html"
        return page(template, officer, **bar(JobStatus.of(state)))
