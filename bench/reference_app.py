"""The two references of bench/api.py: one Litestar handler running the aggregate a credit
decision needs for one customer (as the credit aggregate builds it) and answering a constant
body, served exactly as the app is (uvicorn, same workers, same pool size).

- `create_app`, the raw reference: the query on asyncpg's own pool, no SQLAlchemy at all. The
  practical ceiling of a database-backed request on this machine.
- `create_same_stack_app`, the same-stack reference: the same query through an Advanced
  Alchemy session given by dependency injection, on its default Litestar configuration. What
  one query costs on the specified stack, so `endpoint req/s / same-stack req/s` says how much
  the service's own code costs on top of it.

    DATABASE_URL=postgresql+asyncpg://... uvicorn --factory bench.reference_app:create_app
"""

from __future__ import annotations

import os
from datetime import date

import asyncpg
from advanced_alchemy.extensions.litestar import (
    EngineConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar, MediaType, Response, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The same statement shape as `book_statement` renders for PostgreSQL: the customer joined to all
# their loans, with the counts and sums that scoring and the policy read (month arithmetic in
# integers, the installments due clamped with greatest/least, as the app's query does).
BOOK_SQL = """
SELECT c.id, c.monthly_income, c.approved_limit,
       count(l.id),
       sum(CASE WHEN l.emis_paid_on_time IS NOT NULL THEN
             greatest(0, least(l.tenure,
               ($2::int - (extract(year FROM l.start_date)::int * 12
                           + extract(month FROM l.start_date)::int))
               - CASE WHEN extract(day FROM l.start_date)::int > $3::int THEN 1 ELSE 0 END))
           END),
       sum(l.emis_paid_on_time),
       sum(CASE WHEN l.start_date >= $4::date AND l.start_date <= $5::date THEN 1 END),
       sum(l.loan_amount),
       sum(CASE WHEN l.end_date > $5::date THEN l.loan_amount END),
       sum(CASE WHEN l.end_date > $5::date THEN l.monthly_installment END)
FROM customers c LEFT JOIN loans l ON l.customer_id = c.id
WHERE c.id = $1::bigint
GROUP BY c.id, c.monthly_income, c.approved_limit
"""

# The same statement with named parameters, as SQLAlchemy takes it.
BOOK_TEXT = text(
    BOOK_SQL.replace("$1::bigint", "CAST(:customer_id AS bigint)")
    .replace("$2::int", "CAST(:months AS int)")
    .replace("$3::int", "CAST(:day AS int)")
    .replace("$4::date", "CAST(:year_start AS date)")
    .replace("$5::date", "CAST(:today AS date)")
)

BODY = b'{"ok":true}'


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Exactly one query per request: without this, asyncpg's pool sends a second one (`RESET
    ALL; CLOSE ALL; ...`) whenever a connection is released. The app sends none either."""


def _today() -> date:
    return date.fromisoformat(os.environ["CREDIT_TODAY"])  # pinned, as for the app


def _pool_size() -> int:
    return int(os.environ.get("DATABASE_POOL_SIZE", "10"))


def _dsn() -> str:
    url = os.environ["DATABASE_URL"]
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def create_app() -> Litestar:
    today = _today()
    months = today.year * 12 + today.month
    year_start = date(today.year, 1, 1)
    pool_size = _pool_size()

    async def open_pool(app: Litestar) -> None:
        app.state.pool = await asyncpg.create_pool(
            _dsn(), min_size=pool_size, max_size=pool_size, reset=_no_reset
        )

    async def close_pool(app: Litestar) -> None:
        await app.state.pool.close()

    @get("/reference/{customer_id:int}", media_type=MediaType.JSON)
    async def reference(customer_id: int, state: State) -> Response[bytes]:
        row = await state.pool.fetchrow(BOOK_SQL, customer_id, months, today.day, year_start, today)
        return Response(BODY, status_code=200 if row is not None else 404)

    return Litestar(route_handlers=[reference], on_startup=[open_pool], on_shutdown=[close_pool])


def create_same_stack_app() -> Litestar:
    today = _today()
    params = {
        "months": today.year * 12 + today.month,
        "day": today.day,
        "year_start": date(today.year, 1, 1),
        "today": today,
    }
    config = SQLAlchemyAsyncConfig(
        connection_string=os.environ["DATABASE_URL"],
        engine_config=EngineConfig(pool_size=_pool_size(), max_overflow=0),
    )

    @get("/reference/{customer_id:int}", media_type=MediaType.JSON)
    async def reference(customer_id: int, db_session: AsyncSession) -> Response[bytes]:
        result = await db_session.execute(BOOK_TEXT, {"customer_id": customer_id, **params})
        row = result.first()
        return Response(BODY, status_code=200 if row is not None else 404)

    return Litestar(route_handlers=[reference], plugins=[SQLAlchemyPlugin(config=config)])
