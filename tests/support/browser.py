"""A live server in a thread and a real Chromium driven by Playwright.

The browser is Debian's Chromium (`/usr/bin/chromium`, or CHROMIUM_PATH), headless, with the
flags this machine needs. Without it the browser tests skip locally and fail in CI.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from webapp.extensions import db

from .apps import make_app, make_config
from .components import missing

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: Where screenshots go: SCREENSHOT_DIR, else test-artifacts/ in the checkout.
ARTIFACTS = Path(
    os.environ.get("SCREENSHOT_DIR") or Path(__file__).resolve().parents[2] / "test-artifacts"
)


@dataclass
class LiveServer:
    app: Flask
    url: str
    _server: object = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self._server.shutdown()  # type: ignore[attr-defined]
        self._thread.join(timeout=10)


def start_live_server(config: dict) -> LiveServer:
    app = make_app(config)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    return LiveServer(app, f"http://127.0.0.1:{server.server_port}", server, thread)


@pytest.fixture
def make_live_server(tmp_path: Path) -> Iterator:
    """Start a live server with extra settings; stopped at the end of the test."""
    servers: list[LiveServer] = []

    def start(**overrides: object) -> LiveServer:
        database = tmp_path / f"live{len(servers)}.db"
        server = start_live_server(make_config(f"sqlite:///{database}", **overrides))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        with server.app.app_context():
            db.engine.dispose()


@pytest.fixture
def live_server(make_live_server) -> LiveServer:
    return make_live_server()


def chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    return path if os.path.exists(path) else shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if not path:
        missing("Chromium", "install Debian's chromium or set CHROMIUM_PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright", "pip install playwright")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True,
                                             args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.csp_violations = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda message: page.csp_violations.append(message.text)  # type: ignore[attr-defined]
        if "Content Security Policy" in message.text
        else None,
    )
    yield page
    context.close()


AXE = Path(__file__).resolve().parents[2] / ".cache" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[str]:
    """axe-core's WCAG A/AA violations on the current page, injected with evaluate (our CSP
    blocks script tags, and evaluate is not subject to it)."""
    if not AXE.exists():
        missing("axe-core", "run `make install-test` (it fetches axe-core from npm)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',"
        " 'wcag21aa', 'best-practice']})).violations"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return list(result)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path
