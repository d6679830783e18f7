"""HTTP: every job's status, `GET /api/jobs/{job_id}` (ingestion, collections, close of day).

What a job of the one queue (`plugins/queue.py`) looks like to a client: its status, the stage
and rows done, the report when complete and the reason when failed.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import Parameter

from credit.http import BAD_REQUEST, NOT_FOUND, error, ok
from credit.plugins.queue import JobRunner, JobState, Status


class JobProgress(msgspec.Struct):
    stage: str
    rows_done: int = 0


class JobStatus(msgspec.Struct):
    """Any job of the service (ingestion, collections, close of day): `status`, `progress`
    (`stage`, `rows_done`), `report` when complete, `error` when failed."""

    job_id: str
    status: Status
    progress: JobProgress | None = None
    report: Any = None
    error: str | None = None

    example: ClassVar[dict[str, Any]] = {
        "job_id": "3f2c9a0e5b7d4c1e8a6f2b9d0c4e7a15",
        "status": "active",
        "progress": {"stage": "classifying", "rows_done": 250000},
    }

    @classmethod
    def of(cls, state: JobState) -> JobStatus:
        stage = state.meta.get("stage")
        progress = (
            None if stage is None else JobProgress(str(stage), int(state.meta.get("rows_done", 0)))
        )
        return cls(
            job_id=state.job_id,
            status=state.status,
            progress=progress,
            report=state.result if state.status == "complete" else None,
            error=state.error if state.status == "failed" else None,
        )


class JobController(Controller):
    path = "/api/jobs"
    tags = ["Jobs"]

    @get(
        "/{job_id:str}",
        operation_id="getJob",
        summary="A background job's status, progress and report",
        description="Every job of the service: ingestion, collections, close of day. "
        "`status` is `queued`, `active`, `complete` or `failed`; `progress` the stage and rows "
        "done; `report` (when complete) the job's report; `error` (when failed) why.",
        responses={
            200: ok(JobStatus, "The job's status, progress and report."),
            **BAD_REQUEST,
            **NOT_FOUND,
            503: error("The job queue (Redis) is unreachable.", 503),
        },
    )
    async def job_status(
        self,
        job_id: Annotated[str, Parameter(max_length=64, description="The job's id.")],
        job_runner: NamedDependency[JobRunner],
    ) -> JobStatus:
        state = await job_runner.state(job_id)
        if state is None:
            raise NotFoundException(detail=f"Job {job_id} not found.")
        return JobStatus.of(state)
