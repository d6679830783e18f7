"""How the app reaches the database, as it is assembled (no database is opened here)."""

from __future__ import annotations

from pathlib import Path

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin

from credit.app import create_app
from credit.modules.access.plugin import AccessPlugin
from credit.plugins.queue import JobQueuePlugin
from credit.settings import Settings


def test_one_advanced_alchemy_config_serves_requests_jobs_and_commands(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/wiring.sqlite3")
    app = create_app(settings)
    (alchemy,) = app.plugins.get(SQLAlchemyPlugin).config
    # Requests: Advanced Alchemy's own session per request, closed by its one hook.
    assert app.before_send == [alchemy.before_send_handler]
    assert {"db_session", "db_engine"} <= set(app.dependencies)
    # Jobs and `credit keys` use that same config, so the same engine and pool.
    assert app.plugins.get(JobQueuePlugin).context["alchemy"] is alchemy
    assert app.plugins.get(AccessPlugin).alchemy is alchemy
    assert alchemy.session_config.expire_on_commit is False
