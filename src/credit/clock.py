"""The one clock the app owns for "today", so tests and operators can pin the date.

`clock_for(settings)` is the only place a clock is made from the settings (`CREDIT_TODAY`
pins it, else the lender's time zone): the app, `credit ingest` and the sample loader build it
once and hand it down; nothing falls back to a clock of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from credit.settings import Settings


class Clock(Protocol):
    def today(self) -> date: ...


@dataclass(frozen=True)
class LenderClock:
    """Today's date in the lender's time zone (a loan booked at 00:30 IST is booked that day)."""

    timezone: str = "Asia/Kolkata"

    def today(self) -> date:
        return datetime.now(ZoneInfo(self.timezone)).date()


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at one date: tests, replays, and `CREDIT_TODAY`."""

    day: date

    def today(self) -> date:
        return self.day


def clock_for(settings: Settings) -> Clock:
    """The process's clock: stopped at `CREDIT_TODAY` if set, else the lender's today."""
    return FixedClock(settings.today) if settings.today else LenderClock(settings.timezone)
