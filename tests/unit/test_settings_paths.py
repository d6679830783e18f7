"""The embedded defaults name the project's own files, whichever directory `credit` starts in."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine.url import make_url

from credit.db.schema_state import served_database
from credit.settings import PROJECT_ROOT, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("DATABASE_URL", "SAMPLE_DATA_DIR", "UPLOAD_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_project_root_is_the_checkout() -> None:
    assert PROJECT_ROOT == ROOT
    assert (PROJECT_ROOT / "migrations").is_dir()


def test_a_subdirectory_serves_the_same_embedded_database(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.chdir(ROOT)
    from_root = Settings.from_env()
    clean_env.chdir(tmp_path)
    from_elsewhere = Settings.from_env()
    assert from_elsewhere.database_url == from_root.database_url
    assert make_url(from_elsewhere.database_url).database == str(ROOT / "var" / "credit.sqlite3")
    assert from_elsewhere.sample_data_dir == ROOT / "data"
    assert from_elsewhere.upload_dir == ROOT / "var" / "uploads"


def test_an_empty_sample_data_dir_turns_the_sample_off(clean_env: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().sample_data_dir == ROOT / "data"
    clean_env.setenv("SAMPLE_DATA_DIR", "")
    assert Settings.from_env().sample_data_dir is None
    clean_env.setenv("SAMPLE_DATA_DIR", "  ")
    assert Settings.from_env().sample_data_dir is None
    clean_env.setenv("SAMPLE_DATA_DIR", "/srv/book")
    assert Settings.from_env().sample_data_dir == Path("/srv/book")


def test_postgresql_has_no_sample_unless_asked(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql+asyncpg://credit@db/credit")
    assert Settings.from_env().sample_data_dir is None


def test_the_served_database_is_logged_without_its_password(tmp_path: Path) -> None:
    assert (
        served_database("postgresql+asyncpg://credit:s3cret@db:5432/credit")
        == "postgresql+asyncpg://credit:***@db:5432/credit"
    )
    # A relative SQLite path someone sets is shown as the file it opens.
    here = Path.cwd()
    assert served_database("sqlite+aiosqlite:///var/x.sqlite3") == (
        f"sqlite+aiosqlite:///{here / 'var' / 'x.sqlite3'}"
    )
