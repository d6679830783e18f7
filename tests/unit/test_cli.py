"""The operator's `credit` command: what it says, what it offers, what it imports, and how
`credit ingest` shows a run on a terminal."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner
from rich.console import Console

from credit.cli import credit
from credit.modules.ingest.cli import print_report
from credit.modules.ingest.follow import closing_line, follow, progress_bar
from credit.modules.ingest.schemas import (
    IngestReport,
    IngestStatus,
    RejectedRow,
    Remapping,
    SheetCounts,
)
from credit.plugins.queue import JobState
from tests.cli_process import imported_after

HEAVY = ("litestar", "polars", "sqlalchemy", "advanced_alchemy", "saq", "fastexcel", "asyncpg")


def test_help_says_what_the_cli_is_and_offers_only_this_apps_commands() -> None:
    result = CliRunner().invoke(credit, ["--help"], prog_name="credit")
    assert result.exit_code == 0
    assert "Operate the credit approval service" in result.output
    assert "Litestar CLI" not in result.output
    listed = result.output.split("Commands:")[1]
    for command in ("run", "database", "workers", "ingest", "sample-data", "keys"):
        assert f"  {command} " in listed
    assert "sessions" not in listed


def test_help_and_sample_data_import_nothing_heavy() -> None:
    assert not imported_after("--help") & set(HEAVY)
    # Polars and the ingestion code are for the ingestion commands only.
    assert not imported_after("sample-data", "--help") & set(HEAVY)


def test_sessions_is_not_a_command() -> None:
    result = CliRunner().invoke(credit, ["sessions"], prog_name="credit")
    assert result.exit_code == 2
    assert "No such command 'sessions'" in result.output


def test_drop_all_is_hidden_from_the_database_help() -> None:
    shown = subprocess.run(
        [sys.executable, "-c", "from credit.cli import main; main()", "database", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert "upgrade" in shown.stdout
    assert "drop-all" not in shown.stdout


def test_ingest_of_a_missing_file_says_no_such_file(tmp_path: Path) -> None:
    present = tmp_path / "loan_data.xlsx"
    present.write_bytes(b"")
    missing = tmp_path / "customer_data.xlsx"
    result = CliRunner().invoke(credit, ["ingest", str(missing), str(present)], prog_name="credit")
    assert result.exit_code == 2
    assert f"{missing}: no such file" in result.output
    assert "not an Excel workbook" not in result.output


# --- `credit ingest` following a job on a terminal -----------------------------------------


def report(remapped: int = 2, rejected: int = 1) -> IngestReport:
    counts = SheetCounts(rows=10, inserted=10, updated=0, unchanged=0, rejected=0)
    return IngestReport(
        customers=counts,
        loans=counts,
        rejected=[
            RejectedRow("loans", 3 + i, "Tenure: not a whole number") for i in range(rejected)
        ],
        remappings=[
            Remapping(row=5 + i, customer_id=7, source_loan_id=100 + i, loan_id=9_000 + i)
            for i in range(remapped)
        ],
    )


class ScriptedRunner:
    """A job runner whose job goes through given states, one per poll; a state may log."""

    def __init__(self, states: list[tuple[JobState, str | None]]) -> None:
        self.states = states

    async def enqueue(self, name: str, **kwargs: Any) -> str:
        return "job-1"

    async def state(self, job_id: str) -> JobState | None:
        state, log_line = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        if log_line:
            logging.getLogger("credit.test").warning(log_line)
        return state


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=200, color_system=None), out


def screen_lines(out: io.StringIO) -> list[str]:
    """What stays on the terminal, line by line: cursor moves and line erases dropped."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue()).replace("\r", "\n")
    return [line.strip() for line in text.splitlines() if line.strip()]


def stages(*names: str) -> list[tuple[JobState, str | None]]:
    return [(JobState("job-1", "active", {"stage": n, "rows_done": 0}), None) for n in names]


async def run(runner: ScriptedRunner, console: Console) -> IngestStatus:
    """As `credit ingest` follows a job: the bar while it runs, then the closing line."""
    with progress_bar(console) as bar:
        status, seconds = await follow(runner, "job-1", bar)
    closing_line(console, status, seconds)
    return status


@pytest.fixture
def log_to_stdout() -> Any:
    """A log handler on the real stdout, as the app's logging configures it."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.__stdout__)
    handler.setFormatter(logging.Formatter("LOG %(message)s"))
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


async def test_each_stage_is_shown_and_a_run_ends_with_a_clear_line(log_to_stdout: Any) -> None:
    done = JobState("job-1", "complete", {"stage": "done"}, msgspec.to_builtins(report()))
    runner = ScriptedRunner(
        [
            (JobState("job-1", "queued"), None),
            *stages("reading", "writing customers"),
            (JobState("job-1", "active", {"stage": "reading loans"}), "a worker said something"),
            *stages("writing loans", "committing"),
            (done, None),
        ]
    )
    console, out = terminal()
    status = await run(runner, console)
    assert status.status == "complete"
    lines = screen_lines(out)
    # Each stage gets a line with its duration once it is over.
    shown = [line.split(" (")[0] for line in lines if re.fullmatch(r"[a-z ]+ \([0-9.]+ s\)", line)]
    assert shown == [
        "queued",
        "reading",
        "writing customers",
        "reading loans",
        "writing loans",
        "committing",
    ]
    # The log line has a line of its own, never the bar's.
    logged = [line for line in lines if "a worker said something" in line]
    assert logged
    assert all(line.startswith("LOG ") for line in logged)
    assert lines[-1].startswith("ingestion complete in ")


async def test_a_failed_run_ends_with_the_reason_and_no_spinner() -> None:
    failed = JobState(
        "job-1", "failed", {"stage": "failed"}, error="The loans file 'l.xlsx': no such file."
    )
    runner = ScriptedRunner([*stages("reading"), (failed, None)])
    console, out = terminal()
    status = await run(runner, console)
    assert status.status == "failed"
    last = screen_lines(out)[-1]
    assert last.startswith("ingestion failed after ")
    assert last.endswith("The loans file 'l.xlsx': no such file.")
    # The bar is gone: no spinner frame or bar is left after the closing line.
    assert "━" not in out.getvalue().split("ingestion failed")[-1]


def test_the_summary_lists_the_remappings_or_says_where_the_rest_is(tmp_path: Path) -> None:
    console, out = terminal()
    print_report(console, report(remapped=2), None, None)
    text = out.getvalue()
    assert "remapped loan ids: 2" in text
    assert "remapped loan id 100 (loans row 5, customer 7) to 9000" in text
    assert "remapped loan id 101 (loans row 6, customer 7) to 9001" in text
    assert "rejected loans row 3: Tenure: not a whole number" in text
    assert "more not shown" not in text

    console, out = terminal()
    print_report(console, report(remapped=25), None, None)
    text = out.getvalue()
    assert text.count("remapped loan id ") == 20
    assert text.rstrip().endswith(
        "5 more not shown; the whole report: `credit ingest ... --report FILE`"
    )

    # A job on Redis is kept there for a while: its status route has the whole report too.
    console, out = terminal()
    print_report(console, report(remapped=25), None, "GET /api/ingest/job-1")
    assert "--report FILE`, or GET /api/ingest/job-1" in out.getvalue()

    console, out = terminal()
    print_report(console, report(remapped=25), tmp_path / "report.json", None)
    assert f"the whole report: {tmp_path / 'report.json'}" in out.getvalue()
