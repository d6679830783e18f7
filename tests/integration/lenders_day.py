"""Helpers for the lender's day tests: a clock the test moves, and closes run to the end."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]


@dataclass
class MovingClock:
    """The app's one clock, moved by the test from day to day."""

    day: date

    def today(self) -> date:
        return self.day


async def finished_job(client: Client, job_id: str) -> dict[str, Any]:
    for _ in range(600):
        response = await client.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in ("complete", "failed"):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


async def close_to(client: Client, clock: MovingClock, day: date, today: date) -> dict[str, Any]:
    """Move the clock to `today` and close every date up to `day`; the job's final status."""
    clock.day = today
    response = await client.post("/api/close-day", json={"date": day.isoformat()})
    assert response.status_code == 202, response.text
    job = await finished_job(client, response.json()["job_id"])
    assert job["status"] == "complete", job
    return job
