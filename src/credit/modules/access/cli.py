"""`credit keys create|revoke|list`: operators manage API keys from the command line.

Each command runs `ApiKeyService` on a session of the app's own Advanced Alchemy config (the
one engine of the process), then disposes the engine. Refusals (an empty or taken name, an
unknown or already revoked key, a database behind its migrations) print why and exit
non-zero.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import anyio
import click
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar
from litestar.cli._utils import LitestarGroup

from credit.db.database import provide_services
from credit.db.migrations import upgrade_database
from credit.db.schema_state import schema_problem
from credit.errors import Conflict, NotFound
from credit.modules.access.service import SCOPES, ApiKeyService
from credit.settings import Settings

T = TypeVar("T")


def _run(app: Litestar, work: Callable[[ApiKeyService], Awaitable[T]]) -> T:
    settings: Settings = app.state.settings
    if settings.is_embedded:
        # A fresh clone has no schema until the first `credit run`; keys may come first.
        upgrade_database(settings)
    alchemy = app.plugins.get(SQLAlchemyPlugin).config[0]
    assert isinstance(alchemy, SQLAlchemyAsyncConfig)

    async def main() -> T:
        try:
            problem = await schema_problem(alchemy.get_engine())
            if problem:
                raise click.ClickException(problem)
            async with provide_services(alchemy, ApiKeyService) as (keys,):
                return await work(keys)
        finally:
            await alchemy.get_engine().dispose()

    try:
        return anyio.run(main)
    except (ValueError, Conflict, NotFound) as exc:
        raise click.ClickException(str(exc)) from exc


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
    key, secret = _run(app, lambda keys: keys.create_key(name, scope))  # type: ignore[arg-type]
    click.echo(f"Created key {key.id} ({key.name}, scope {key.scope}). Store it now:")
    click.echo(secret)


@click.command(name="revoke", help="Revoke a key by its id; it stops working at once.")
@click.argument("key_id", type=int)
def revoke(app: Litestar, key_id: int) -> None:
    key = _run(app, lambda keys: keys.revoke_key(key_id))
    click.echo(f"Revoked key {key.id} ({key.name}).")


@click.command(name="list", help="List keys (id, prefix, name, scope, state); never secrets.")
def list_(app: Litestar) -> None:
    keys = _run(app, lambda service: service.list_keys())
    if not keys:
        click.echo("No API keys.")
        return
    click.echo("id\tprefix\tname\tscope\tstate\tcreated")
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        click.echo(
            f"{key.id}\t{key.prefix}…\t{key.name}\t{key.scope}\t{state}\t"
            f"{key.created_at:%Y-%m-%d %H:%M}"
        )


# LitestarGroup.add_command injects the `app` argument into each command.
for _command in (create, revoke, list_):
    keys_group.add_command(cast("Any", _command))  # rich-click's stubs want a RichCommand
