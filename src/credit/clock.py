"""The one clock the app owns for "today", so tests and operators can pin the date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


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
