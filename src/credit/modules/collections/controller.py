"""HTTP for collections: upload the bank's file (`POST /api/payments/import`, multipart field
`file`) -> 202 with the job id; `GET /api/jobs/{job_id}` follows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

import anyio
from litestar import Controller, Router, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.status_codes import HTTP_202_ACCEPTED

from credit.http import BAD_REQUEST, error, ok
from credit.modules.collections.api import IMPORT_JOB, store_upload
from credit.modules.collections.schemas import ImportAccepted
from credit.plugins.queue import JobQueueUnavailable, JobRunner
from credit.settings import Settings

MULTIPART_OVERHEAD_BYTES = 64 * 1024


@dataclass
class CollectionsUpload:
    file: UploadFile


class CollectionsController(Controller):
    path = "/payments"
    tags = ["Collections"]

    @post(
        "/import",
        status_code=HTTP_202_ACCEPTED,
        operation_id="importPayments",
        summary="Apply the bank's repayment file (CSV or xlsx)",
        description="Multipart field `file`: CSV (UTF-8, a header row) or xlsx (first sheet), "
        "columns `Reference`, `Customer ID`, `Loan ID`, `Amount`, `Paid On`. Each row is a "
        "payment under make-payment's rules; a loan's rows apply in `Paid On` order, then file "
        "order. A reference already applied with the same values is a duplicate (skipped); "
        "with other values a conflict (rejected). Answers 202 with the job id: follow it at "
        "`GET /api/jobs/{job_id}` for the report.",
        responses={
            202: ok(ImportAccepted, "Queued; follow the job id."),
            **BAD_REQUEST,
            413: error("The file is larger than allowed.", 413),
            503: error("The job queue (Redis) is unreachable; nothing was stored.", 503),
        },
    )
    async def import_payments(
        self,
        data: Annotated[CollectionsUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        settings: NamedDependency[Settings],
        job_runner: NamedDependency[JobRunner],
        today: NamedDependency[date],
    ) -> ImportAccepted:
        path = await store_upload(settings.upload_dir, await data.file.read())
        try:
            job_id = await job_runner.enqueue(IMPORT_JOB, path=str(path), as_of=today.isoformat())
        except JobQueueUnavailable:
            await anyio.Path(path).unlink(missing_ok=True)
            raise
        return ImportAccepted(job_id=job_id)


def collections_router(settings: Settings) -> Router:
    """The controller under `/api`, with the upload limit taken from the settings."""
    return Router(
        path="/api",
        route_handlers=[CollectionsController],
        request_max_body_size=settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
    )
