"""A live server on a free local port with the demo data, and headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from portguard import demo
from portguard.api import create_app
from portguard.core import migrate
from portguard.core.db import Database
from portguard.core.settings import Settings

CHROMIUM = os.environ.get("PORTGUARD_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running workbench with the demo organisations, users and notes."""
    data_dir = tmp_path_factory.mktemp("live")
    db = Database(f"sqlite:///{Path(data_dir) / 'portguard.db'}")
    migrate.upgrade(db.engine)
    with db.session() as session:
        demo.load(session)
    app = create_app(settings=Settings(data_dir=data_dir, secret_key_value="live-test-key-" + "x" * 20), db=db)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium (never a downloaded browser)."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh browser context and page per test (no shared cookies)."""
    context = browser.new_context()
    pg = context.new_page()
    yield pg
    context.close()


def sign_in(page, base_url: str, username: str, password: str = demo.DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Fill in and submit the sign-in form."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")
