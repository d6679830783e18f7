"""The database: the engine and its options, the service base, column types, migrations and
the schema's state. Nothing here imports a module (an import contract, pyproject.toml)."""
