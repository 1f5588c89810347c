"""Swagger UI renders offline in headless Chromium, with the upload form of ``/jobs/hash``."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = [pytest.mark.integration, pytest.mark.browser]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def block_other_hosts(page: Page) -> list[str]:
    """Abort every request that is not for this machine; returns the URLs it blocked."""
    blocked: list[str] = []

    def handle(route: Route) -> None:
        url = route.request.url
        scheme = urlsplit(url).scheme
        if scheme in ("data", "blob") or urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", handle)
    return blocked


def test_swagger_ui_shows_the_hash_upload_form_offline(page: Page, compute_url: str) -> None:
    blocked = block_other_hosts(page)
    page.goto(f"{compute_url}/docs")
    operation = page.locator("#operations-default-submit_hash_job")
    expect(operation).to_be_visible()
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    file_input = operation.locator('input[type="file"]')
    expect(file_input).to_be_visible()
    # The plugin's own parameter is in the same form, with its values from the spec.
    expect(operation.locator("select").first).to_be_visible()
    expect(operation).to_contain_text("algorithm")
    expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    assert blocked == [], f"the page tried to reach other hosts: {blocked}"


def test_redoc_renders_offline(page: Page, compute_url: str) -> None:
    blocked = block_other_hosts(page)
    page.goto(f"{compute_url}/redoc")
    expect(page.get_by_text("Submit a hash job").first).to_be_visible()
    assert blocked == [], f"the page tried to reach other hosts: {blocked}"
