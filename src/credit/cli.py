"""`credit`: the operator's command line for the credit approval service.

A command imports only what it needs, so `credit --help` answers at once: the list below is
static text. `ingest` and `sample-data` load the ingestion code without building the web app.
`run`, `database`, `workers`, `keys`, `routes`, `schema`, `info` and `version` are Litestar's
CLI bound to the app (`credit.app:create_app`), which imports and builds the whole app first.
Litestar's `sessions` (server-side sessions: this app has none) is not offered, and
`database drop-all` is hidden (it still asks before dropping anything).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from typing import Any

import click

HELP = """Operate the credit approval service: serve the API, run the job workers, migrate
the database, load the lender's book from its Excel workbooks, and manage API keys.

Every setting is an environment variable (DATABASE_URL, REDIS_URL, ...; see the README).
`credit COMMAND --help` describes a command."""

# Commands of this module's own, by name: where the click command is, and its one-line help.
OWN_COMMANDS = {
    "ingest": (
        "credit.modules.ingest.cli:ingest",
        "Load customer_data.xlsx and loan_data.xlsx into the book.",
    ),
    "close-day": (
        "credit.modules.portfolio.cli:close_day",
        "Close the lender's day: classify every loan (SMA/NPA).",
    ),
    "payments": (
        "credit.modules.collections.cli:payments",
        "Apply the bank's repayment file (`payments import FILE`).",
    ),
    "portfolio": (
        "credit.modules.portfolio.cli:portfolio",
        "Print (or --csv write) the portfolio at a closed date.",
    ),
    "sample-data": (
        "credit.modules.ingest.cli:sample_data",
        "Write a synthetic book in the original workbooks' format.",
    ),
}
# Litestar's commands and those the app's plugins add to it, with their one-line help.
APP_COMMANDS = {
    "run": "Serve the HTTP API (uvicorn; --wc N for N processes).",
    "database": "Migrate the database (`database upgrade --no-prompt`) and inspect it.",
    "workers": "Run the SAQ job workers (needs REDIS_URL).",
    "keys": "Create, list and revoke API keys.",
    "routes": "List the HTTP routes.",
    "schema": "Export the OpenAPI document.",
    "info": "Show how the app is configured.",
    "version": "Show the Litestar version.",
}
ALIASES = {"db": "database"}


class CreditCLI(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*OWN_COMMANDS, *APP_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = ALIASES.get(cmd_name, cmd_name)
        if name in OWN_COMMANDS:
            module, attribute = OWN_COMMANDS[name][0].split(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            return command
        if name in APP_COMMANDS:
            return _through_litestar(name, APP_COMMANDS[name])
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        short = {name: text for name, (_, text) in OWN_COMMANDS.items()} | APP_COMMANDS
        with formatter.section("Commands"):
            formatter.write_dl(sorted(short.items()))


def _through_litestar(name: str, short_help: str) -> click.Command:
    @click.command(
        name=name,
        help=short_help,
        context_settings={"ignore_unknown_options": True, "help_option_names": []},
        add_help_option=False,
    )
    @click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
    def command(arguments: tuple[str, ...]) -> None:
        litestar_cli([name, *arguments])

    return command


def litestar_cli(arguments: Sequence[str]) -> Any:
    """Run Litestar's CLI (which builds the app) on `arguments`."""
    os.environ.setdefault("LITESTAR_APP", "credit.app:create_app")
    from advanced_alchemy.extensions.litestar.cli import database_group
    from litestar.cli.main import litestar_group

    database_group.commands["drop-all"].hidden = True
    litestar_group.commands.pop("sessions", None)
    return litestar_group.main(args=list(arguments), prog_name="credit")


@click.group(cls=CreditCLI, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
def credit() -> None:
    pass


def main() -> None:
    credit(prog_name="credit")
