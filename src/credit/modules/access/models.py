"""The `api_keys` table: who may call the API, with which scopes.

Only a SHA-256 digest of each key is stored. A key is 256 random bits, so a fast hash is
enough: nobody can enumerate 2^256 candidates, and a deterministic digest can be looked up by
a unique index in one query. Slow, salted hashes (bcrypt, argon2) protect low-entropy human
passwords; they would add tens of milliseconds per request here for no gain. `prefix` is the
key's first characters, kept so operators can tell keys apart in `credit keys list`.
"""

from __future__ import annotations

from datetime import datetime

from advanced_alchemy.base import IdentityAuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column


class ApiKey(IdentityAuditBase):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # "read" or "write" (write includes read).
    scope: Mapped[str] = mapped_column(String(16))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
