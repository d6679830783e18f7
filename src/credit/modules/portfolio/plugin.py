"""Registers the portfolio: its HTTP routes, its service provider, the close-of-day job (and,
with Redis, its daily cron), and the refresh of the portfolio gauges before each scrape."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.config.app import AppConfig
from litestar.plugins import InitPluginProtocol

from credit.db.database import provide_services, service_provider
from credit.modules.portfolio.controller import PortfolioController
from credit.modules.portfolio.jobs import close_day, scheduled_close
from credit.modules.portfolio.schemas import Portfolio
from credit.modules.portfolio.service import PortfolioService
from credit.plugins import metrics
from credit.plugins.queue import JobQueuePlugin
from credit.settings import Settings


class PortfolioPlugin(InitPluginProtocol):
    def __init__(self, settings: Settings, alchemy: SQLAlchemyAsyncConfig) -> None:
        self.settings = settings
        self.alchemy = alchemy

    async def refresh_gauges(self) -> None:
        async with provide_services(self.alchemy, PortfolioService) as (portfolio,):
            latest = await portfolio.latest_closed()
            if latest is None:
                return
            day = await portfolio.closed_day(latest)
            assert day is not None
            summary = Portfolio.of(day, await portfolio.day_summary(latest))
        metrics.set_portfolio(
            {
                name: (figures.loans, float(figures.outstanding))
                for name, figures in summary.by_classification.items()
            }
        )

    async def start(self) -> None:
        metrics.BEFORE_SCRAPE.append(self.refresh_gauges)

    async def stop(self) -> None:
        if self.refresh_gauges in metrics.BEFORE_SCRAPE:
            metrics.BEFORE_SCRAPE.remove(self.refresh_gauges)

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.append(PortfolioController)
        app_config.dependencies["portfolio_service"] = service_provider(PortfolioService)
        jobs = JobQueuePlugin.of(app_config)
        jobs.register(close_day)
        jobs.schedule(
            scheduled_close,
            cron=self.settings.close_day_cron,
            timezone=self.settings.timezone,
        )
        app_config.on_startup.append(self.start)
        app_config.on_shutdown.append(self.stop)
        return app_config
