"""`credit`: the Litestar CLI bound to this app (`credit run`, `credit database upgrade`, ...)."""

from __future__ import annotations

import os


def main() -> None:
    os.environ.setdefault("LITESTAR_APP", "credit.app:create_app")
    from litestar.cli.main import litestar_group

    litestar_group()
