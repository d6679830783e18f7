"""Whether the book is the synthetic sample, and the two ways an operator may load another.

The embedded default loads the sample on a first start and marks the book so
(`book_state.sample`, `sample_loader.py`). Merging the lender's book into it would give the
lender's customers the sample's loans (their ids overlap), so `credit ingest` refuses, naming
`--replace-sample` (the sample book, and everything done on it through the API, is deleted
first) and `--merge` (load into it anyway; the mark is then cleared). Plain SQL on the
command's engine: `credit ingest` on PostgreSQL loads neither Advanced Alchemy nor Litestar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, text, update

from credit.modules.ingest.writer.fields import BOOK_STATE

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

HOLDS_SAMPLE = select(BOOK_STATE.c.sample).where(BOOK_STATE.c.sample)
# What the sample book is, and what the API wrote on it, children first.
BOOK_TABLES = (
    # what the closes of day recorded on the sample's loans (they refer to them)
    "classification_periods",
    "loan_classifications",
    "portfolio_days",
    "closed_days",
    "payments",
    "decisions",
    "idempotency_keys",
    "loans",
    "customers",
)


def refusal() -> str:
    return (
        "this database holds the synthetic sample book (loaded by the first `credit run`); "
        "loading another book into it would mix the two. Run again with --replace-sample to "
        "delete the sample first (with everything done on it through the API), or with "
        "--merge to load into it anyway."
    )


async def holds_sample(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return (await conn.execute(HOLDS_SAMPLE)).first() is not None


async def clear_mark(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(BOOK_STATE).values(sample=False))


async def delete_sample(engine: AsyncEngine) -> None:
    """The whole sample book goes, in one transaction; the book's generation is raised, so a
    booking decided on the sample cannot be booked after it."""
    async with engine.begin() as conn:
        for table in BOOK_TABLES:
            await conn.execute(text(f"DELETE FROM {table}"))
        await conn.execute(
            update(BOOK_STATE).values(sample=False, generation=BOOK_STATE.c.generation + 1)
        )
