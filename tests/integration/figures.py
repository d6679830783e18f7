"""Figures a test measured, for docs/reliability.md: one JSON file per test and database in
`var/test-figures/`, rewritten on every run (so parallel test workers never share a file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIGURES = Path(__file__).resolve().parents[2] / "var" / "test-figures"


def record(name: str, **figures: Any) -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True))
