"""The Database the lending services run on: statements compiled for asyncpg, and its limits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select, update

from credit.modules.customers.service import CUSTOMER_BY_ID, CUSTOMERS
from credit.plugins.sql import AsyncpgDatabase, DatabaseUnavailable, compile_for_asyncpg
from credit.plugins.sql import open_asyncpg_database as open_pool
from credit.settings import Settings


def test_a_missing_bind_value_is_an_error_not_a_null() -> None:
    compiled = compile_for_asyncpg(CUSTOMER_BY_ID)
    assert compiled.args({"customer_id": 7}) == [7]
    with pytest.raises(KeyError, match="customer_id"):
        compiled.args({"customer": 7})


def test_values_the_statement_carries_stay_in_their_places() -> None:
    # `customers.id = :customer_id AND created_at >= <a literal datetime> AND age > 30`: the
    # caller's value goes to its own position, the expression's own values stay in theirs.
    since = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    statement = (
        select(CUSTOMERS.c.id)
        .where(CUSTOMERS.c.created_at >= since)
        .where(CUSTOMERS.c.id == bindparam("customer_id"))
        .where(CUSTOMERS.c.age > 30)
    )
    compiled = compile_for_asyncpg(statement)
    assert compiled.sql.index("$1") < compiled.sql.index("$2") < compiled.sql.index("$3")
    assert compiled.args({"customer_id": 7}) == [since, 7, 30]
    assert compiled.args({"customer_id": 8}) == [since, 8, 30]  # the template is not changed


async def test_a_full_pool_answers_unavailable_instead_of_queueing_forever(
    postgres_url: str,
) -> None:
    database = await open_pool(replace(Settings(), database_url=postgres_url, database_pool_size=1))
    assert isinstance(database, AsyncpgDatabase)
    database.pool.wait_timeout = 0.2
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
