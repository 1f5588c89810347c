"""The dashboard against a real stack (no auth): live table, job page, cancel, workers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest
from playwright.sync_api import Page, expect

from tests.support.jobs import get_job, submit_ok, wait_for_status
from tests.support.media import make_jpeg
from tests.support.stack import Stack, running_stack

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TASKS = ["hash", "image_conversion", "hls_streaming"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("ui"), mode="no-auth", workers=1, tasks=TASKS
    ) as running:
        yield running


def open_dashboard(page: Page, stack: Stack, fragment: str = "") -> None:
    page.goto(f"{stack.compute_url}/ui/{fragment}")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")


def long_video(path: Path) -> Path:
    """Two minutes of 320x240: quick to make, and transcoding it to 720p + 480p HLS takes far
    longer than the test needs to click Cancel."""
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            *("-hide_banner", "-nostdin", "-loglevel", "error", "-y"),
            *("-f", "lavfi", "-i", "testsrc=size=320x240:rate=30:duration=120"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
            str(path),
        ],
        check=True,
    )
    return path


def test_a_submitted_job_goes_to_completed_live(page: Page, stack: Stack, tmp_path: Path) -> None:
    open_dashboard(page, stack)
    page.evaluate("window.__notReloaded = true")
    job_id = submit_ok(stack.compute_url, "hash", make_jpeg(tmp_path / "live.jpg"))

    row = page.locator(f'#jobs-body tr[data-job-id="{job_id}"]')
    expect(row).to_have_attribute("data-status", "completed")
    expect(row.locator(".task-type")).to_have_text("hash")
    expect(row.locator("progress")).to_have_attribute("value", "100")
    expect(page.locator("#status-counts")).to_contain_text("completed")
    assert page.evaluate("window.__notReloaded") is True

    page.get_by_role("combobox", name="Status").select_option("failed")
    expect(row).to_have_count(0)
    page.get_by_role("combobox", name="Status").select_option("completed")
    expect(row).to_have_count(1)


def test_the_job_page_previews_an_image_output(page: Page, stack: Stack, tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "photo.jpg", size=(80, 60))
    job_id = submit_ok(stack.compute_url, "image_conversion", image, data={"format": "png"})
    wait_for_status(stack.compute_url, job_id, {"completed"})
    open_dashboard(page, stack, f"#/jobs/{job_id}")

    expect(page.locator("#job-view")).to_have_attribute("data-status", "completed")
    preview = page.get_by_role("img", name="Preview of output/converted_photo.png")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => img.naturalWidth") == 80
    with page.expect_download() as download:
        page.get_by_role("button", name="Download converted_photo.png").click()
    assert download.value.suggested_filename == "converted_photo.png"
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    expect(page.get_by_role("button", name="Cancel job")).to_be_disabled()


def test_cancel_a_running_hls_job_from_its_page(page: Page, stack: Stack, tmp_path: Path) -> None:
    video = long_video(tmp_path / "long.mp4")
    job_id = submit_ok(stack.compute_url, "hls_streaming", video)
    open_dashboard(page, stack, f"#/jobs/{job_id}")

    job_view = page.locator("#job-view")
    expect(job_view).to_have_attribute("data-status", "processing")
    page.get_by_role("button", name="Cancel job").click()
    expect(job_view).to_have_attribute("data-status", "cancelled")
    expect(page.get_by_role("button", name="Retry job")).to_be_enabled()
    assert get_job(stack.compute_url, job_id)["status"] == "cancelled"


def test_a_stopped_worker_leaves_the_workers_panel(page: Page, stack: Stack) -> None:
    open_dashboard(page, stack)
    worker = stack.start_worker(["hash"], "ui-leaving-worker")
    row = page.locator('#workers-body tr[data-worker-id="ui-leaving-worker"]')
    expect(row).to_have_attribute("data-state", "idle", timeout=60_000)

    assert worker.terminate() == 0
    expect(row).to_have_count(0)
    expect(page.locator('#gone-list li[data-worker-id="ui-leaving-worker"]')).to_have_count(1)
