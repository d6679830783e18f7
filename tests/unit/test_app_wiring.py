"""What runs on every request, as the app is assembled (no database is opened here)."""

from __future__ import annotations

from pathlib import Path

from credit.app import create_app
from credit.settings import Settings


def test_no_hook_runs_on_every_response_message(tmp_path: Path) -> None:
    # Advanced Alchemy's session commit hook ran twice a request for a session no handler
    # opens; its dependency is gone too, so a handler cannot ask for a session it would
    # never see committed.
    app = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/wiring.sqlite3"))
    assert app.before_send == []
    assert "db_session" not in app.dependencies
    assert "db_engine" in app.dependencies  # /ready still checks the engine
