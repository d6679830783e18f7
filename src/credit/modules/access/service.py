"""API keys: issue, revoke, list, and find the active key a request presents.

A key is shown once, when it is created (`ck_` + 43 URL-safe characters, 256 random bits);
afterwards only its SHA-256 digest and a short prefix exist (see models.py for why SHA-256).
`ApiKeyService` is the access module's Advanced Alchemy service: the CLI manages keys with it,
and the authentication middleware looks keys up with it on the request's own session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import Table, bindparam, select

from credit.db.database import Service
from credit.errors import Conflict, NotFound
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


class KeyNameTaken(Conflict):
    def __init__(self, name: str) -> None:
        super().__init__(f"An API key named {name!r} already exists; choose another name.")


class KeyAlreadyRevoked(Conflict):
    def __init__(self, key: ApiKey) -> None:
        super().__init__(f"Key {key.id} ({key.name}) was already revoked.")


# Runs on every authenticated request: built once.
API_KEYS = cast(Table, ApiKey.__table__)
ACTIVE_KEY = select(API_KEYS.c.id, API_KEYS.c.name, API_KEYS.c.scope).where(
    API_KEYS.c.key_hash == bindparam("key_hash"), API_KEYS.c.revoked_at.is_(None)
)


class ApiKeyService(Service[ApiKey]):
    class Repo(SQLAlchemyAsyncRepository[ApiKey]):
        model_type = ApiKey

    repository_type = Repo

    async def create_key(self, name: str, scope: Scope) -> tuple[ApiKey, str]:
        """A new key named `name`; the secret is returned once and never stored."""
        name = name.strip()
        if not name:
            raise ValueError("A key needs a name (it tells keys apart in `credit keys list`).")
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        if await self.exists(name=name):
            raise KeyNameTaken(name)
        secret = new_secret()
        key = ApiKey(name=name, prefix=secret[:PREFIX_LENGTH], key_hash=digest(secret), scope=scope)
        return await self.create(key, auto_commit=True, auto_refresh=False), secret

    async def revoke_key(self, key_id: int) -> ApiKey:
        key = await self.get_one_or_none(id=key_id)
        if key is None:
            raise NotFound(f"No API key with id {key_id}.")
        if key.revoked_at is not None:
            raise KeyAlreadyRevoked(key)
        key.revoked_at = datetime.now(UTC)
        return await self.update(key, auto_commit=True, auto_refresh=False)

    async def list_keys(self) -> list[ApiKey]:
        return list(await self.list(order_by=ApiKey.id.asc()))

    async def find_active(self, presented: str) -> Principal | None:
        """The active key whose digest matches; one indexed query, no row written."""
        if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
            return None
        result = await self.execute(ACTIVE_KEY, {"key_hash": digest(presented)})
        row = result.one_or_none()
        return None if row is None else Principal(row.id, row.name, row.scope)
