"""Requests a hostile or careless client sends: each gets its honest status, none a 500.

Runs on SQLite and PostgreSQL (the `settings` fixture).
"""

from __future__ import annotations

from dataclasses import replace

from litestar.testing import AsyncTestClient

from credit.app import create_app
from credit.clock import FixedClock
from credit.settings import Settings
from tests.conftest import TODAY
from tests.integration.test_operations import sample


async def test_metrics_count_refusals_with_their_own_status(settings: Settings) -> None:
    """A 401 from authentication and a 429 from its address limit are counted as such (they
    were counted as 500s, in the error counter too, with no response seen)."""
    guarded = replace(
        settings,
        auth_required=True,
        rate_limit_per_second=0,
        rate_limit_anonymous_per_second=0.001,  # no refill during the test
        rate_limit_anonymous_burst=2,
    )
    path = "/api/view-loans/{customer_id}"
    async with AsyncTestClient(app=create_app(guarded, clock=FixedClock(TODAY))) as client:
        before = (await client.get("/metrics")).text
        codes = [
            (await client.get("/api/view-loans/1", headers={"X-API-Key": f"ck_{n}"})).status_code
            for n in range(4)
        ]
        after = (await client.get("/metrics")).text
    assert codes == [401, 401, 429, 429]
    counted = "credit_http_requests_total"
    for status, times in (("401", 2), ("429", 2), ("500", 0)):
        labels = {"path": path, "status_code": status}
        assert sample(after, counted, **labels) - sample(before, counted, **labels) == times
    errors = "credit_http_requests_error_total"
    assert sample(after, errors, path=path) - sample(before, errors, path=path) == 0
