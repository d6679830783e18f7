"""The app's own providers: the settings, the lending policy and today's date.

The clock and the policy are built once from the settings (`credit.app`) and handed down: to
these providers, to each module's `deps.py` (its services, the underwriter, the booking and
payment desks), to the jobs and the sample loader. A module's providers live in its own
`deps.py`, registered by its plugin; a job or a command opens its services with
`credit.db.database.provide_services`.
"""

from __future__ import annotations

from datetime import date

from litestar.di import Provide

from credit.clock import Clock
from credit.lending.policy import CreditPolicy
from credit.settings import Settings


def dependencies(settings: Settings, policy: CreditPolicy, clock: Clock) -> dict[str, Provide]:
    def provide_settings() -> Settings:
        return settings

    def provide_policy() -> CreditPolicy:
        return policy

    def provide_today() -> date:
        return clock.today()

    return {
        "settings": Provide(provide_settings, sync_to_thread=False),
        "policy": Provide(provide_policy, sync_to_thread=False),
        "today": Provide(provide_today, sync_to_thread=False),
    }
