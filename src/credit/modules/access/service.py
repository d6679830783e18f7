"""API keys: issue, revoke, list, and find the active key a request presents.

A key is shown once, when it is created (`ck_` + 43 URL-safe characters, 256 random bits);
afterwards only its SHA-256 digest and a short prefix exist (see models.py for why SHA-256).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.modules.access.models import ApiKey
from credit.plugins.sql import Database

Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")
KEY_PREFIX = "ck_"
PREFIX_LENGTH = 10


@dataclass(frozen=True)
class Principal:
    """The caller behind a request: the key's id, its name and its scope."""

    key_id: int
    name: str
    scope: str

    def allows(self, needed: Scope) -> bool:
        return needed == "read" or self.scope == "write"


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


async def create_key(session: AsyncSession, name: str, scope: Scope) -> tuple[ApiKey, str]:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
    secret = new_secret()
    key = ApiKey(name=name, prefix=secret[:PREFIX_LENGTH], key_hash=digest(secret), scope=scope)
    session.add(key)
    await session.flush()
    return key, secret


async def revoke_key(session: AsyncSession, key_id: int) -> ApiKey | None:
    key = await session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        await session.flush()
    return key


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.scalars(select(ApiKey).order_by(ApiKey.id))).all())


# Runs on every authenticated request: built once, on the API's Database (credit.plugins.sql).
API_KEYS = cast(Table, ApiKey.__table__)
ACTIVE_KEY = select(API_KEYS.c.id, API_KEYS.c.name, API_KEYS.c.scope).where(
    API_KEYS.c.key_hash == bindparam("key_hash"), API_KEYS.c.revoked_at.is_(None)
)


async def find_active(database: Database, presented: str) -> Principal | None:
    """The active key whose digest matches; one indexed query, no row written."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    row = await database.row(ACTIVE_KEY, {"key_hash": digest(presented)})
    return None if row is None else Principal(row[0], row[1], row[2])
