"""The migrations' head as operator commands read it (the files' text) is Alembic's."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from credit.db.schema_state import MIGRATIONS_DIR, known_revisions, migration_heads


def test_heads_read_from_the_files_are_alembics() -> None:
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    assert migration_heads(str(MIGRATIONS_DIR)) == tuple(sorted(script.get_heads()))
    assert known_revisions(str(MIGRATIONS_DIR)) == {r.revision for r in script.walk_revisions()}
