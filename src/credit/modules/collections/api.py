"""What other modules may use of collections: storing an uploaded bank file where the job reads
it, and the job's name. `POST /api/payments/import` and the console's Operations screen start
an import the same way."""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio

IMPORT_JOB = "import_collections"


async def store_upload(upload_dir: Path, content: bytes) -> Path:
    """The file in the shared upload directory (its own name), for the job to read."""
    folder = upload_dir / "collections"
    path = folder / f"{uuid.uuid4().hex}.upload"
    await anyio.to_thread.run_sync(lambda: folder.mkdir(parents=True, exist_ok=True))
    await anyio.Path(path).write_bytes(content)
    return path
