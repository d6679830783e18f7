"""The three documentation pages render every operation in a real browser (Debian's headless
Chromium) that can reach nothing but the service: no CDN, no fonts, nothing from outside.

Chromium is sent through a proxy that does not exist (`127.0.0.1:9`), with only the
service's own address exempt, so any request for an outside asset fails.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from credit.app import create_app
from credit.db.migrations import upgrade_database
from credit.settings import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PAGES = ("/schema", "/schema/scalar", "/schema/swagger", "/schema/redoc")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("docs")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'docs.sqlite3'}",
        sample_data_dir=None,
        upload_dir=tmp / "uploads",
    )
    upgrade_database(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _rendered(url: str) -> str:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                f"--user-data-dir={profile}",
                "--proxy-server=http://127.0.0.1:9",
                "--proxy-bypass-list=127.0.0.1",
                "--virtual-time-budget=30000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    # Swagger UI and Redoc pages carry the document inline in a <script>: only what the
    # browser rendered outside scripts counts.
    rendered = re.sub(r"<script\b.*?</script>", "", result.stdout, flags=re.DOTALL | re.I)
    return html.unescape(rendered)


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",
    reason="Debian's chromium is not installed (apt-get install chromium); CI installs it",
)
@pytest.mark.parametrize("page", PAGES)
def test_each_docs_page_renders_every_operation_offline(served: str, page: str) -> None:
    assert CHROMIUM is not None, "CI must have chromium (.ci/run installs it)"
    document = httpx.get(f"{served}/schema/openapi.json", timeout=30).json()
    summaries = [op["summary"] for ops in document["paths"].values() for op in ops.values()]
    assert len(summaries) >= 12
    dom = _rendered(f"{served}{page}")
    missing = [summary for summary in summaries if summary not in dom]
    assert not missing, f"{page} did not render: {missing} ({len(dom)} characters of DOM)"


def test_the_browser_really_cannot_reach_outside(served: str) -> None:
    """The check above proves something only if an outside asset would fail to load."""
    if CHROMIUM is None:
        assert os.environ.get("CI") != "true", "CI must have chromium (.ci/run installs it)"
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); CI installs it")
    page = Path(tempfile.mkdtemp()) / "outside.html"
    page.write_text(
        "<html><body><p id=state>waiting</p><script>"
        "fetch('https://cdn.jsdelivr.net/npm/redoc@2/package.json')"
        ".then(() => document.getElementById('state').textContent = 'REACHED')"
        ".catch(() => document.getElementById('state').textContent = 'BLOCKED')"
        "</script></body></html>"
    )
    dom = _rendered(page.as_uri())
    assert '<p id="state">BLOCKED</p>' in dom, dom
