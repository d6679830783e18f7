"""The Portfolio screen: the latest close (or any closed day, `?as_of=`) by classification,
with PAR 30, PAR 90 and the NPA ratio, as `GET /api/portfolio` gives them, and a chart of
those ratios over the closed days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from credit.modules.console.charts import lines_over_days
from credit.modules.console.officer import Officer
from credit.modules.console.pages import page
from credit.modules.portfolio.api import Portfolio, ratio
from credit.modules.portfolio.service import PortfolioService

CHART_DAYS = 90


class PortfolioPageController(Controller):
    path = "/console/portfolio"

    @get("/", name="console:portfolio")
    async def portfolio(
        self,
        officer: NamedDependency[Officer],
        portfolio_service: NamedDependency[PortfolioService],
        as_of: FromQuery[date | None] = None,
    ) -> Response[Any]:
        latest = await portfolio_service.latest_closed()
        day = as_of or latest
        found = None if day is None else await portfolio_service.closed_day(day)
        summary = None
        if found is not None and day is not None:
            summary = Portfolio.of(found, await portfolio_service.day_summary(day))
        recent = list(reversed(await portfolio_service.recent_days(CHART_DAYS)))
        days = [row["as_of"] for row in recent]
        whole = [row["outstanding"] for row in recent]

        def share(column: str) -> list[Decimal]:
            return [
                ratio(row[column] or Decimal(0), total) * 100
                for row, total in zip(recent, whole, strict=True)
            ]

        chart = lines_over_days(
            days,
            [
                ("PAR 30", "par30", share("outstanding_over_30")),
                ("PAR 90", "par90", share("outstanding_over_90")),
                ("NPA ratio", "npa", share("npa_outstanding")),
            ],
        )
        return page(
            "portfolio.html",
            officer,
            portfolio=summary,
            latest=latest,
            asked=as_of,
            days=list(reversed(recent)),
            chart=chart,
        )
