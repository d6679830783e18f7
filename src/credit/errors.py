"""What the services report when a request cannot be served: not found, conflict, unavailable.

Domain errors, not HTTP ones: services and jobs raise them, and `credit.plugins.errors` maps
each to its status code once (404, 409, 503).
"""

from __future__ import annotations


class NotFound(Exception):
    """No such customer, loan or key; `detail` says which."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Conflict(Exception):
    """A constraint refused the write (a taken phone number, a foreign key)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class DatabaseUnavailable(Exception):
    """The database could not be reached or dropped the connection; the client may retry."""
