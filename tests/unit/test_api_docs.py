"""The README explains the API from the repository itself (issue 23): `docs/api.md` names every
operation the service serves, and the README points at it and at the OpenAPI JSON, never at
a contract outside the repository."""

from __future__ import annotations

from pathlib import Path

from credit.app import create_app
from credit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_api_md_names_every_operation(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}"
    document = create_app(Settings(database_url=url, sample_data_dir=None)).openapi_schema
    described = (ROOT / "docs" / "api.md").read_text()
    missing = [
        f"{method.upper()} {path}"
        for path, item in (document.paths or {}).items()
        for method in ("get", "post", "patch", "put", "delete")
        if getattr(item, method, None) is not None and f"`{method.upper()} {path}`" not in described
    ]
    assert missing == []
    assert "/schema/openapi.json" in described


def test_the_readme_points_at_the_projects_own_description() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/api.md" in readme
    assert "/schema/openapi.json" in readme
    assert "shared/docs" not in readme
    for doc in (ROOT / "docs").glob("*.md"):
        assert "shared/docs" not in doc.read_text(), doc.name
