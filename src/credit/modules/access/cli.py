"""`credit keys create|revoke|list`: operators manage API keys from the command line."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import anyio
import click
from litestar import Litestar
from litestar.cli._utils import LitestarGroup
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from credit.modules.access.service import SCOPES, create_key, list_keys, revoke_key
from credit.plugins.database import DatabasePlugin
from credit.plugins.migrations import upgrade_database
from credit.settings import Settings

T = TypeVar("T")


def _run(app: Litestar, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    settings: Settings = app.state.settings
    if settings.is_embedded:
        # A fresh clone has no schema until the first `credit run`; keys may come first.
        upgrade_database(settings)
    engine = app.plugins.get(DatabasePlugin).config[0].get_engine()
    assert isinstance(engine, AsyncEngine)

    async def main() -> T:
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return anyio.run(main)


@click.group(
    cls=LitestarGroup,
    name="keys",
    help="Manage API keys (required on /api when AUTH_REQUIRED=true).",
)
def keys_group() -> None:
    pass


@click.command(name="create", help="Create a key; it is printed once and never again.")
@click.argument("name")
@click.option("--scope", type=click.Choice(SCOPES), default="read", show_default=True)
def create(app: Litestar, name: str, scope: str) -> None:
    key, secret = _run(app, lambda s: create_key(s, name, scope))  # type: ignore[arg-type]
    click.echo(f"Created key {key.id} ({key.name}, scope {key.scope}). Store it now:")
    click.echo(secret)


@click.command(name="revoke", help="Revoke a key by its id; it stops working at once.")
@click.argument("key_id", type=int)
def revoke(app: Litestar, key_id: int) -> None:
    key = _run(app, lambda s: revoke_key(s, key_id))
    if key is None:
        raise click.ClickException(f"No API key with id {key_id}.")
    click.echo(f"Revoked key {key.id} ({key.name}).")


@click.command(name="list", help="List keys (id, prefix, name, scope, state); never secrets.")
def list_(app: Litestar) -> None:
    keys = _run(app, list_keys)
    if not keys:
        click.echo("No API keys.")
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        click.echo(
            f"{key.id}\t{key.prefix}…\t{key.name}\t{key.scope}\t{state}\t"
            f"created {key.created_at:%Y-%m-%d %H:%M}"
        )


# LitestarGroup.add_command injects the `app` argument into each command.
for _command in (create, revoke, list_):
    keys_group.add_command(cast("Any", _command))  # rich-click's stubs want a RichCommand
