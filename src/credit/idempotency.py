"""Idempotent writes: any write a client may retry with an `Idempotency-Key` (create-loan,
make-payment, register).

The answer to a keyed write is stored in `idempotency_keys` in the same transaction as the
write itself, so a write and its key commit together or not at all (a crash midway leaves
neither, and the retry writes once). A request repeated with the same key and the same
request (method, path, decoded body) gets the stored answer back and writes nothing; the same
key with another request is refused (422). A request that arrives while another with its key
is under way waits for it (on the write's lock or the key's row) and answers what the first
answered, never a refusal computed on the state the first one left. Keys are the client's
own, so they are scoped by operation and caller (API key, or "open" without authentication).
Shared by the modules, so it imports none of them; the loans module purges old keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import msgspec
from advanced_alchemy.base import DefaultBase
from advanced_alchemy.types import DateTimeUTC
from litestar.params import HeaderParameter
from sqlalchemy import (
    Column,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
)

from credit.db.database import Service
from credit.errors import Conflict, NotFound, Unprocessable

KEY_HEADER = "Idempotency-Key"
KEEP = timedelta(hours=48)

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name=KEY_HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7E]+$",
        description="Makes the write safe to retry: the same key with the same request gets the "
        "first answer again (same status and ids) and writes nothing; with another request, "
        "422. 1-255 visible ASCII characters; kept at least 24 hours.",
    ),
]

# The answer to each write that came with an `Idempotency-Key`, stored in the same transaction
# as the write itself: a retry with the same key and body gets this answer back and writes
# nothing, the same key with another body is refused. `scope` is the operation and the caller
# (keys are the client's own, so two callers may pick the same one); `fingerprint` a SHA-256
# of the request (method, path, body). Kept at least 24 hours: rows older than that may be
# purged by `created_at`.
IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    DefaultBase.metadata,
    Column("scope", String(100), nullable=False),
    Column("key", String(255), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("response_status", SmallInteger, nullable=False),
    Column("response_body", LargeBinary, nullable=False),
    Column("created_at", DateTimeUTC(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("scope", "key"),
    Index("ix_idempotency_keys_created_at", "created_at"),
)
KEYS: Table = IDEMPOTENCY_KEYS
FIND_KEY = select(KEYS.c.fingerprint, KEYS.c.response_status, KEYS.c.response_body).where(
    KEYS.c.scope == bindparam("key_scope"), KEYS.c.key == bindparam("key_value")
)
INSERT_KEY = insert(KEYS).values(
    scope=bindparam("key_scope"),
    key=bindparam("key_value"),
    fingerprint=bindparam("key_fingerprint"),
    response_status=bindparam("key_status"),
    response_body=bindparam("key_body", type_=KEYS.c.response_body.type),
    created_at=bindparam("key_created_at", type_=KEYS.c.created_at.type),
)
PURGE_KEYS = delete(KEYS).where(
    KEYS.c.created_at < bindparam("older_than", type_=KEYS.c.created_at.type)
)

AnswerT = TypeVar("AnswerT", bound=msgspec.Struct)
# What a write may answer with besides its answer. A request that waited behind another with
# its key (on the loan's lock, or on the key's row) sees that one's key once it is refused.
# A module adds its own (`IdempotentWrites.refusals`).
REFUSALS: tuple[type[Exception], ...] = (Conflict, NotFound, Unprocessable)


class IdempotencyKeyReused(Unprocessable):
    def __init__(self) -> None:
        super().__init__(
            f"This {KEY_HEADER} was already used with a different request; use a new key.",
            field=KEY_HEADER,
            source="header",
        )


def fingerprint(method: str, path: str, body: msgspec.Struct) -> str:
    """SHA-256 of the request as the service understood it: method, path without a trailing
    slash, and the decoded body re-encoded with sorted keys (so spacing, key order and 5000
    against 5000.0 do not make two requests differ)."""
    canonical = msgspec.json.encode(msgspec.to_builtins(body), order="sorted")
    digest = hashlib.sha256(f"{method.upper()}\n{path.rstrip('/')}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def key_scope(operation: str, auth: Any) -> str:
    """The operation and the caller: the API key's id, or "open" without authentication."""
    key_id = getattr(auth, "key_id", None)
    return f"{operation}:{'open' if key_id is None else f'key-{key_id}'}"


class IdempotentWrites:
    """Runs a write once per key, on a module's service (and so the request's session)."""

    refusals: tuple[type[Exception], ...] = REFUSALS

    def __init__(self, service: Service[Any]) -> None:
        self.service = service

    async def run(
        self,
        scope: str,
        key: str | None,
        print_: str,
        answer_type: type[AnswerT],
        write: Callable[[], Awaitable[tuple[int, AnswerT]]],
    ) -> tuple[int, AnswerT]:
        """`write()` gives (status, answer). Without a key it simply runs; with one, a stored
        answer is replayed, or the write runs and its answer is stored with it."""
        if key is None:
            return await write()
        stored = await self._replay(scope, key, print_, answer_type)
        if stored is not None:
            return stored
        try:
            async with self.service.transaction():
                status, answer = await write()
                await self.service.execute(
                    INSERT_KEY,
                    {
                        "key_scope": scope,
                        "key_value": key,
                        "key_fingerprint": print_,
                        "key_status": status,
                        "key_body": msgspec.json.encode(answer),
                        "key_created_at": datetime.now(UTC),
                    },
                )
        except self.refusals:
            # The same key committed by a concurrent request first: this write was rolled
            # back (with the key, when it got that far), so the first answer is the answer.
            # A refusal counts too: it was computed on the state the first request left (a
            # payment that already closed the loan), which a retry must never be told.
            stored = await self._replay(scope, key, print_, answer_type)
            if stored is None:
                raise
            return stored
        return status, answer

    async def _replay(
        self, scope: str, key: str, print_: str, answer_type: type[AnswerT]
    ) -> tuple[int, AnswerT] | None:
        params = {"key_scope": scope, "key_value": key}
        row = (await self.service.execute(FIND_KEY, params)).one_or_none()
        if row is None:
            return None
        if row.fingerprint != print_:
            raise IdempotencyKeyReused()
        return row.response_status, msgspec.json.decode(row.response_body, type=answer_type)
