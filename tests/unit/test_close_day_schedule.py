"""The daily close is a SAQ cron job on the one queue, at the settings' time in the lender's
time zone; without Redis nothing is scheduled (there is no worker)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from credit.modules.portfolio.jobs import scheduled_close
from credit.plugins.queue import JobQueuePlugin
from credit.settings import Settings


def test_the_close_runs_on_the_settings_cron_in_the_lenders_time_zone() -> None:
    settings = Settings(
        redis_url="redis://127.0.0.1:6379/15", close_day_cron="30 1 * * *", timezone="Asia/Dubai"
    )
    jobs = JobQueuePlugin(settings)
    jobs.schedule(scheduled_close, cron=settings.close_day_cron, timezone=settings.timezone)
    config = jobs._queue_config
    (cron,) = config.scheduled_tasks
    assert cron.cron == "30 1 * * *"
    assert cron.function.__name__ == "scheduled_close"
    assert config.cron_tz == ZoneInfo("Asia/Dubai")


def test_without_redis_nothing_is_scheduled() -> None:
    jobs = JobQueuePlugin(Settings(redis_url=None))
    jobs.schedule(scheduled_close, cron="15 0 * * *", timezone="Asia/Kolkata")
    assert jobs.saq is None
