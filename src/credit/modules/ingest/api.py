"""What other modules may use of ingestion: the checks an uploaded workbook passes before it is
stored, the shared upload directory, and a job's status as `GET /api/ingest/{job_id}` gives
it. The console's Operations screen starts and follows ingestion with these, as the API does."""

from __future__ import annotations

from credit.modules.ingest.controller import refuse_non_workbooks
from credit.modules.ingest.schemas import IngestStatus
from credit.modules.ingest.uploads import store_uploads

__all__ = ["IngestStatus", "refuse_non_workbooks", "store_uploads"]
