"""What other modules may use of the portfolio module besides its service: the answers the
API gives (a closed day's portfolio, a loan's classification periods), so the console shows
the same figures as `GET /api/portfolio` and `/classification-history`."""

from __future__ import annotations

from credit.modules.portfolio.schemas import (
    ClassificationPeriod,
    CloseReport,
    Portfolio,
    ratio,
)

# The close of day's job (`jobs.close_day`): `until` (ISO date or None: yesterday), `today`.
CLOSE_JOB = "close_day"

__all__ = ["CLOSE_JOB", "ClassificationPeriod", "CloseReport", "Portfolio", "ratio"]
