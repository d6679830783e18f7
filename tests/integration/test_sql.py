"""The Database the lending services run on: statements compiled for asyncpg, and its limits."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import update

from credit.modules.customers.service import CUSTOMER_BY_ID, CUSTOMERS
from credit.plugins.sql import AsyncpgDatabase, DatabaseUnavailable, compile_for_asyncpg
from credit.plugins.sql import open_asyncpg_database as open_pool
from credit.settings import Settings


def test_a_missing_bind_value_is_an_error_not_a_null() -> None:
    compiled = compile_for_asyncpg(CUSTOMER_BY_ID)
    assert compiled.args({"customer_id": 7}) == [7]
    with pytest.raises(KeyError, match="customer_id"):
        compiled.args({"customer": 7})


async def test_a_full_pool_answers_unavailable_instead_of_queueing_forever(
    postgres_url: str,
) -> None:
    database = await open_pool(replace(Settings(), database_url=postgres_url, database_pool_size=1))
    assert isinstance(database, AsyncpgDatabase)
    database = AsyncpgDatabase(database.pool, acquire_timeout=0.2)
    try:
        async with database.transaction():  # holds the only connection
            with pytest.raises(DatabaseUnavailable):
                await database.row(CUSTOMER_BY_ID, {"customer_id": 1})
        assert await database.row(CUSTOMER_BY_ID, {"customer_id": 1}) is None  # free again
    finally:
        await database.close()


def test_a_statement_that_needs_a_python_side_default_is_refused() -> None:
    # `updated_at` has a Python-side onupdate that only SQLAlchemy's execution would compute;
    # on asyncpg it would be NULL, so such a statement must not compile at all.
    with pytest.raises(ValueError, match="updated_at"):
        compile_for_asyncpg(update(CUSTOMERS).values(age=40))
