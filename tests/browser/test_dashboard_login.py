"""Logging in to the dashboard when the compute service enforces auth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.jobs import submit_ok
from tests.support.media import make_jpeg
from tests.support.stack import Stack, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.browser]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("ui-auth"), mode="enforced", workers=0) as running:
        yield running


def test_login_then_live_updates_with_the_token(page: Page, stack: Stack, tmp_path: Path) -> None:
    page.goto(f"{stack.compute_url}/ui/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("#overview-view")).to_be_hidden()

    page.get_by_label("Username").fill(stack.admin_username)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_contain_text("Incorrect username or password")

    page.get_by_label("Password").fill(stack.admin_password)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#overview-view")).to_be_visible()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(page.locator("#whoami")).to_have_text(f"Logged in as {stack.admin_username}")

    token = stack.admin_token()
    headers = {"Authorization": f"Bearer {token}"}
    job_id = submit_ok(stack.compute_url, "hash", make_jpeg(tmp_path / "a.jpg"), headers=headers)
    # No worker runs here: the queued job showing up proves the stream works with the token.
    row = page.locator(f'#jobs-body tr[data-job-id="{job_id}"]')
    expect(row).to_have_attribute("data-status", "queued")

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
