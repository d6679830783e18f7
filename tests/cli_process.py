"""`credit` run in a fresh interpreter, as an operator runs it: what it imported."""

from __future__ import annotations

import subprocess
import sys


def imported_after(*arguments: str) -> set[str]:
    """Top-level packages a fresh interpreter has imported once `credit ARGUMENTS` has run and
    exited with 0 (the environment is the test's: set DATABASE_URL and the like first)."""
    script = (
        "import sys\n"
        "from credit.cli import credit\n"
        f"try:\n    credit({list(arguments)!r}, prog_name='credit')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(done.stdout.strip().splitlines()[-1].split())
