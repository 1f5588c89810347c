"""``GET /metrics`` against a real stack: counters move by exactly what real jobs did."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)

from tests.support.event_recorder import recording_events
from tests.support.jobs import get_job, submit_ok, wait_for_status
from tests.support.media import camera_exif, make_jpeg, make_large_png, make_truncated_jpeg
from tests.support.prometheus import Samples, parse, total, value
from tests.support.stack import running_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def scrape(url: str, headers: dict[str, str] | None = None) -> Samples:
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def depth(samples: Samples, task_type: str, status: str) -> float:
    return value(samples, "cl_queue_depth", task_type=task_type, status=status)


def test_counters_and_histograms_follow_real_jobs(tmp_path: Path) -> None:
    big = make_large_png(tmp_path / "big.png")
    photo = make_jpeg(tmp_path / "photo.jpg", exif=camera_exif())
    broken = make_truncated_jpeg(tmp_path / "broken.jpg")
    with running_stack(tmp_path, workers=0) as stack:
        url = stack.compute_url
        before = scrape(url)
        assert total(before, "cl_jobs_submitted_total") == 0
        assert value(before, "cl_workers_connected") == 0

        with recording_events(stack.mqtt_host, stack.mqtt_port) as recorder:
            # With no worker yet the jobs wait, and the queue shows them.
            slow = submit_ok(url, "hash", big, data={"priority": "9"})
            hashes = [slow, submit_ok(url, "hash", photo)]
            exifs = [submit_ok(url, "exif", photo), submit_ok(url, "exif", broken)]
            wait_until(
                lambda: total(scrape(url), "cl_jobs_submitted_total") == 4,
                10,
                "submissions were not counted",
            )
            queued = scrape(url)
            assert depth(queued, "hash", "queued") == 2
            assert depth(queued, "exif", "queued") == 2
            assert depth(queued, "hash", "processing") == 0
            assert depth(queued, "clip_embedding", "queued") == 0  # idle types are reported

            stack.start_worker(["hash", "exif"])
            # The big PNG goes first (priority 9) and takes a while to decode.
            wait_until(
                lambda: depth(scrape(url), "hash", "processing") == 1,
                60,
                "the running job never showed in cl_queue_depth",
            )
            # The claim is visible in the store before the worker's capability message has
            # crossed the broker, so under load the gauge may lag the queue depth briefly.
            wait_until(
                lambda: value(scrape(url), "cl_workers_connected") == 1,
                10,
                "cl_workers_connected did not count the worker",
            )
            jobs = {job_id: wait_for_status(url, job_id) for job_id in hashes + exifs}
            assert [jobs[j]["status"] for j in hashes + exifs] == [
                "completed",
                "completed",
                "completed",
                "failed",
            ]
            # Every terminal event goes out twice (PROTOCOL §5.3); wait for the copies so that
            # counting them twice would show.
            assert recorder.wait_for(
                lambda: all(
                    recorder.kinds(j).count(jobs[j]["status"]) >= 2 for j in hashes + exifs
                ),
                timeout=15,
            ), recorder.events
            # The feed counts in arrival order: once a later job is counted, the copies above
            # (already delivered) have been too.
            sentinel = submit_ok(url, "hash", photo)
            assert wait_for_status(url, sentinel)["status"] == "completed"
            wait_until(
                lambda: value(scrape(url), "cl_jobs_completed_total", task_type="hash") >= 3,
                10,
                "the sentinel's completion was not counted",
            )

        after = scrape(url)
        expected = {
            ("cl_jobs_submitted_total", "hash"): 3,
            ("cl_jobs_submitted_total", "exif"): 2,
            ("cl_jobs_completed_total", "hash"): 3,
            ("cl_jobs_completed_total", "exif"): 1,
            ("cl_jobs_failed_total", "hash"): 0,
            ("cl_jobs_failed_total", "exif"): 1,
            ("cl_jobs_cancelled_total", "hash"): 0,
            ("cl_jobs_cancelled_total", "exif"): 0,
            ("cl_job_duration_seconds_count", "hash"): 3,
            ("cl_job_duration_seconds_count", "exif"): 2,
            ("cl_job_queue_wait_seconds_count", "hash"): 3,
            ("cl_job_queue_wait_seconds_count", "exif"): 2,
        }
        got = {key: value(after, key[0], task_type=key[1]) for key in expected}
        assert got == expected
        assert total(after, "cl_jobs_submitted_total") == 5

        # The histograms hold the store's own times, to the millisecond.
        records = [get_job(url, job_id) for job_id in [*hashes, sentinel]]
        run_time = sum(r["completed_at"] - r["started_at"] for r in records) / 1000
        waited = sum(r["started_at"] - r["created_at"] for r in records) / 1000
        assert value(after, "cl_job_duration_seconds_sum", task_type="hash") == pytest.approx(
            run_time
        )
        assert value(after, "cl_job_queue_wait_seconds_sum", task_type="hash") == pytest.approx(
            waited
        )
        for le in (0.25, 1.0, 10.0):
            within = sum(1 for r in records if r["started_at"] - r["created_at"] <= le * 1000)
            bucket = value(after, "cl_job_queue_wait_seconds_bucket", task_type="hash", le=str(le))
            assert bucket == within, (le, records)
        assert value(after, "cl_job_queue_wait_seconds_bucket", task_type="hash", le="+Inf") == 3
        assert depth(after, "hash", "queued") == depth(after, "hash", "processing") == 0


def test_metrics_take_the_jobs_check_unless_public(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_stack(tmp_path / "private", mode="enforced", workers=0) as stack:
        assert httpx.get(f"{stack.compute_url}/metrics").status_code == 401
        headers = {"Authorization": f"Bearer {stack.admin_token()}"}
        assert value(scrape(stack.compute_url, headers), "cl_workers_connected") == 0

    monkeypatch.setenv("CL_METRICS_PUBLIC", "true")
    with running_stack(tmp_path / "public", mode="enforced", workers=0) as stack:
        assert "cl_jobs_submitted_total" in httpx.get(f"{stack.compute_url}/metrics").text
        # Prometheus asks for OpenMetrics; prometheus_client's content negotiation answers it.
        openmetrics = httpx.get(
            f"{stack.compute_url}/metrics",
            headers={"Accept": "application/openmetrics-text; version=1.0.0"},
        )
        assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
        families = {f.name for f in openmetrics_families(openmetrics.text)}
        assert {"cl_jobs_submitted", "cl_queue_depth", "cl_job_duration_seconds"} <= families
        # Only /metrics is opened: the job API still needs a token.
        assert httpx.get(f"{stack.compute_url}/workers").status_code == 401


def test_cancel_and_retry_count_ends_not_submissions(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "photo.jpg")
    with running_stack(tmp_path, workers=0) as stack:
        url = stack.compute_url
        job_id = submit_ok(url, "hash", photo)
        cancelled = httpx.post(f"{url}/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        wait_until(
            lambda: value(scrape(url), "cl_jobs_cancelled_total", task_type="hash") == 1,
            10,
            "the cancellation was not counted",
        )
        # The retry publishes `queued` again: the same job, not a new submission.
        assert httpx.post(f"{url}/jobs/{job_id}/retry").status_code == 200
        stack.start_worker(["hash"])
        assert wait_for_status(url, job_id)["status"] == "completed"
        wait_until(
            lambda: value(scrape(url), "cl_jobs_completed_total", task_type="hash") == 1,
            10,
            "the completion after the retry was not counted",
        )
        samples = scrape(url)
        assert value(samples, "cl_jobs_submitted_total", task_type="hash") == 1
        assert value(samples, "cl_jobs_cancelled_total", task_type="hash") == 1
        # Only the run that worked has a run time; the cancelled one never started.
        assert value(samples, "cl_job_duration_seconds_count", task_type="hash") == 1
