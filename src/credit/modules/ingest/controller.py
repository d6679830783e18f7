"""HTTP for ingestion: upload the two workbooks, then watch the job.

`POST /api/ingest` (multipart `customers`, `loans`) stores the files in the shared upload
directory and enqueues the job with their paths -> `202 {"job_id"}`; a body over
`MAX_UPLOAD_BYTES` is refused with `413`, and a part that is not a workbook with `400`, before
anything is stored.
`GET /api/ingest/{job_id}` -> status, progress and, once finished, the report.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import anyio
import msgspec
from litestar import Controller, Router, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from credit.http import BAD_REQUEST, NOT_FOUND, error, ok
from credit.modules.ingest.schemas import (
    IngestAccepted,
    IngestError,
    IngestStatus,
)
from credit.modules.ingest.uploads import store_uploads
from credit.modules.ingest.workbook import check_upload
from credit.plugins.queue import JobQueueUnavailable, JobRunner
from credit.settings import Settings

JobIdPath = Annotated[str, Parameter(max_length=64, description="The ingestion job's id.")]

# Room for the multipart boundaries and part headers around the two files.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


@dataclass
class BookUpload:
    customers: UploadFile
    loans: UploadFile


class IngestController(Controller):
    path = "/ingest"
    tags = ["Ingestion"]

    @post(
        "/",
        status_code=HTTP_202_ACCEPTED,
        operation_id="startIngestion",
        summary="Load the book from two workbooks",
        description="Multipart fields `customers` (customer_data.xlsx) and `loans` "
        "(loan_data.xlsx). Answers 202 with the job id; the load runs in the background.",
        responses={
            202: ok(IngestAccepted, "Queued; follow the job id."),
            **BAD_REQUEST,
            413: error("An uploaded workbook is larger than allowed.", 413),
            503: error("The job queue (Redis) is unreachable; nothing was stored.", 503),
        },
    )
    async def start_ingestion(
        self,
        data: Annotated[BookUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        settings: NamedDependency[Settings],
        job_runner: NamedDependency[JobRunner],
        today: NamedDependency[date],
    ) -> IngestAccepted:
        """Load `customer_data.xlsx` and `loan_data.xlsx` in the background."""
        books = {"customers": await data.customers.read(), "loans": await data.loans.read()}
        await anyio.to_thread.run_sync(refuse_non_workbooks, books)
        customers, loans = await store_uploads(
            settings.upload_dir, customers=books["customers"], loans=books["loans"]
        )
        try:
            job_id = await job_runner.enqueue(
                "ingest_book",
                customers_path=str(customers),
                loans_path=str(loans),
                as_of=today.isoformat(),  # the book is loaded as of the app's today
            )
        except JobQueueUnavailable:
            # Nobody will ever read these files: leave no orphan upload behind (503).
            await anyio.to_thread.run_sync(shutil.rmtree, customers.parent, True)
            raise
        return IngestAccepted(job_id=job_id)

    @get(
        "/{job_id:str}",
        operation_id="getIngestion",
        summary="An ingestion job's status, progress and report",
        description="`status` is `queued`, `active`, `complete` or `failed`; `progress` "
        "gives the stage and rows done; `report` (when complete) counts inserted, updated, "
        "unchanged and rejected rows and lists every remapped loan id.",
        responses={
            200: ok(IngestStatus, "The job's status, progress and report."),
            **BAD_REQUEST,
            **NOT_FOUND,
            503: error("The job queue (Redis) is unreachable.", 503),
        },
    )
    async def ingestion_status(
        self, job_id: JobIdPath, job_runner: NamedDependency[JobRunner]
    ) -> IngestStatus:
        """Status (`queued`, `active`, `complete`, `failed`), progress and report."""
        state = await job_runner.state(job_id)
        if state is None:
            raise NotFoundException(detail=f"Ingestion job {job_id} not found.")
        try:
            return IngestStatus.of(state)
        except msgspec.ValidationError:  # another kind of job: GET /api/jobs/{job_id} shows it
            raise NotFoundException(detail=f"Ingestion job {job_id} not found.") from None


def refuse_non_workbooks(books: dict[str, bytes]) -> None:
    """400 naming the part that is not a workbook (or hides its first sheet), before anything
    is stored or queued; the job checks the rest (sizes, extents) before reading."""
    for field, content in books.items():
        try:
            check_upload(io.BytesIO(content), f"{field} file")
        except IngestError as exc:
            raise ValidationException(
                detail=str(exc), extra=[{"key": field, "message": str(exc), "source": "body"}]
            ) from exc


def ingest_router(settings: Settings) -> Router:
    """The controller under `/api`, with the upload limit taken from the settings."""
    return Router(
        path="/api",
        route_handlers=[IngestController],
        request_max_body_size=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
    )
