"""Headless Chromium for the dashboard tests: the system's own (Debian package ``chromium``),
driven by playwright. Playwright never downloads a browser here; without one the tests skip."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_CHROMIUM = (
    "no Chromium on PATH: the dashboard tests drive the system browser "
    "(Debian/Ubuntu: `apt-get install chromium`; scripts/test installs it when run as root)"
)
ACTION_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: playwright's sync API runs its own event loop, which must be
    # gone before other modules' asyncio tests run theirs on this thread.
    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(ACTION_TIMEOUT_MS)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert errors == [], f"the dashboard raised JavaScript errors: {errors}"
