"""What the services report when a request cannot be served: not found, conflict, unavailable.

Domain errors, not HTTP ones: services and jobs raise them, and `credit.plugins.errors` maps
each to its status code once (404, 409, 422, 503).
"""

from __future__ import annotations

from typing import Any


class NotFound(Exception):
    """No such customer, loan or key; `detail` says which."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Conflict(Exception):
    """A constraint refused the write (a taken phone number, a foreign key); `extra` names
    what holds the value, when known (the customer who holds a phone number)."""

    def __init__(self, detail: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Unprocessable(Exception):
    """A well-formed request that cannot be applied (an `Idempotency-Key` reused with another
    request); `field` and `source` name what is at fault."""

    def __init__(self, detail: str, field: str, source: str = "body") -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.source = source


class DatabaseUnavailable(Exception):
    """The database could not be reached or dropped the connection; the client may retry."""
