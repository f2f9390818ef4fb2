"""Browser tests: Playwright for Python driving Debian's Chromium against a live server.

Never `playwright install`: the browser is /usr/bin/chromium (`.ci/run` installs it).
Tests here use `live_server` (a real threaded Django server on the test database) and
the `page` fixture (a fresh browser context per test). `screenshot(page, name)` saves a
PNG under test-artifacts/screenshots/ for review.
"""

import os
import threading
import time
from pathlib import Path

import pytest

from tests import realservers

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = realservers.CHROMIUM
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(config, items):
    """Every test here is a slow browser test; without Chromium the rule in
    tests/realservers.py skips it (or fails it under REQUIRE_REAL_SERVERS)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.chromium)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    realservers.require("chromium")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open another independent browser session (e.g. a second agent)."""
    contexts = []

    def make(locale: str | None = None):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": 1280, "height": 900},
            **({"locale": locale} if locale else {}),  # the browser's Accept-Language
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    requests_finished()


def requests_finished(timeout: float = 10.0) -> None:
    """Wait (up to `timeout`) until the live server answers no request. It answers each
    one in a thread of its own (socketserver's `process_request_thread`), and a request
    the browser started just before the test ended (a draft's autosave, an htmx poll)
    can still be reading when the database is flushed after a transactional test: the
    flush's TRUNCATE and that read then lock the same tables in opposite orders, one of
    them is killed as a deadlock, and a failed flush leaves rows for the next test
    (seen in CI, tests/e2e/panel/test_draft_images_in_chromium.py)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(
            t.name.endswith("(process_request_thread)") and t.is_alive()
            for t in threading.enumerate()
        ):
            return
        time.sleep(0.05)


@pytest.fixture
def page(new_page):
    return new_page()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
