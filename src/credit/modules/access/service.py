"""API keys: issue, revoke, list, and find the active key a request presents.

A key is shown once, when it is created (`ck_` + 43 URL-safe characters, 256 random bits);
afterwards only its SHA-256 digest and a short prefix exist (see models.py for why SHA-256).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from credit.modules.access.models import ApiKey

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


async def find_active(engine: AsyncEngine, presented: str) -> Principal | None:
    """The active key whose digest matches; one indexed query, no row written."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    stmt = select(ApiKey.id, ApiKey.name, ApiKey.scope).where(
        ApiKey.key_hash == digest(presented), ApiKey.revoked_at.is_(None)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(stmt)).one_or_none()
    return None if row is None else Principal(row[0], row[1], row[2])
