"""The console served for a real browser: the app on a free port under uvicorn (in a thread),
API keys made with the access module's service, and Debian's Chromium through Playwright with
every request that leaves the app's own address blocked (and recorded, so a test can say none
was tried). Used by the browser tests and by `tests/console_screenshots.py`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from credit.app import create_app
from credit.clock import Clock
from credit.db.database import sqlalchemy_config
from credit.modules.access.service import ApiKeyService
from credit.settings import Settings

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def issue_key(settings: Settings, name: str, scope: str) -> str:
    """A new API key's secret, made with the service the CLI uses."""

    async def issue() -> str:
        alchemy = sqlalchemy_config(settings)
        try:
            async with ApiKeyService.new(config=alchemy) as keys:
                _, secret = await keys.create_key(name, scope)  # type: ignore[arg-type]
                return secret
        finally:
            await alchemy.get_engine().dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, issue()).result()


@contextmanager
def serve(settings: Settings, clock: Clock | None = None) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1; yields its address."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock=clock), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@dataclass
class Outside:
    """Requests the browser tried to send anywhere but the app (each was blocked)."""

    base: str
    blocked: list[str] = field(default_factory=list)

    def route(self, route: Any) -> None:
        url = route.request.url
        if url == self.base or url.startswith(self.base + "/"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (Playwright's own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            browser.close()
