"""The reference for bench/api.py: the practical ceiling of a database-backed request here.

One Litestar handler, one raw asyncpg query (the aggregate a credit decision needs for one
customer, as `credit.modules.loans.book` builds it) and a constant body: no ORM, no session,
no dependency injection, no serialisation of the result. Served exactly as the app is
(uvicorn, same workers, same pool size), so `endpoint req/s / reference req/s` says how much
of the machine the service's own code costs.

    DATABASE_URL=postgresql://... uvicorn --factory bench.reference_app:create_app
"""

from __future__ import annotations

import os
from datetime import date

import asyncpg
from litestar import Litestar, MediaType, Response, get
from litestar.datastructures import State

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

BODY = b'{"ok":true}'


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Exactly one query per request: without this, asyncpg's pool sends a second one (`RESET
    ALL; CLOSE ALL; ...`) whenever a connection is released. The app sends none either."""


def _dsn() -> str:
    url = os.environ["DATABASE_URL"]
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def create_app() -> Litestar:
    today = date.fromisoformat(os.environ["CREDIT_TODAY"])  # pinned, as for the app
    months = today.year * 12 + today.month
    year_start = date(today.year, 1, 1)
    pool_size = int(os.environ.get("DATABASE_POOL_SIZE", "10"))

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
