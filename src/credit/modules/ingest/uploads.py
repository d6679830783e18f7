"""Uploaded workbooks wait in the upload directory that web and worker processes share.

Each upload gets its own folder (a random name), so concurrent uploads never overwrite each
other; the job deletes the folder once it has read the files. Paths are absolute so a worker
started from another directory finds them.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import anyio


async def store_uploads(upload_dir: Path, *, customers: bytes, loans: bytes) -> tuple[Path, Path]:
    folder = await anyio.Path(upload_dir).resolve() / uuid.uuid4().hex
    await folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for kind, content in (("customers", customers), ("loans", loans)):
        path = folder / f"{kind}.xlsx"
        await path.write_bytes(content)
        paths.append(Path(path))
    return paths[0], paths[1]


def copy_to_uploads(upload_dir: Path, customers: Path, loans: Path) -> tuple[Path, Path]:
    """The CLI's copy of an operator's files, for a worker that may run elsewhere."""
    folder = upload_dir.resolve() / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    targets = folder / "customers.xlsx", folder / "loans.xlsx"
    for source, target in zip((customers, loans), targets, strict=True):
        target.write_bytes(source.read_bytes())
    return targets
