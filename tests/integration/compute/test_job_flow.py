"""Upload to ``completed`` through real HTTP, a real broker and a real worker process."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support.event_recorder import recording_events
from tests.support.jobs import get_job, submit, submit_ok, wait_for_status
from tests.support.media import camera_exif, make_jpeg, make_truncated_jpeg
from tests.support.stack import Stack

pytestmark = pytest.mark.integration


def test_root_reports_no_auth(noauth_stack: Stack) -> None:
    info = httpx.get(f"{noauth_stack.compute_url}/").json()
    assert info["status"] == "healthy"
    assert info["service"] == "compute"
    assert isinstance(info["version"], str)
    assert info["guestMode"] == "on"
    assert info["auth_required"] is False


def test_capabilities_list_the_worker(noauth_stack: Stack) -> None:
    caps = httpx.get(f"{noauth_stack.compute_url}/capabilities").json()
    assert caps["num_workers"] == 1
    assert set(caps["capabilities"]) == {"hash", "exif"}


def test_hash_md5_job_completes_with_exact_output(noauth_stack: Stack, tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "photo.jpg")
    job_id = submit_ok(noauth_stack.compute_url, "hash", image, data={"algorithm": "md5"})
    job = wait_for_status(noauth_stack.compute_url, job_id)

    assert job["status"] == "completed", job
    assert job["progress"] == 100
    assert job["task_output"] == {"media_type": "image"}
    assert job["params"]["algorithm"] == "md5"
    assert job["params"]["input_path"] == "input/photo.jpg"
    assert job["params"]["output_path"] == "output/hash.json"
    assert job["started_at"] is not None and job["completed_at"] >= job["started_at"]

    download = httpx.get(f"{noauth_stack.compute_url}/jobs/{job_id}/files/output/hash.json")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/octet-stream"
    assert 'filename="hash.json"' in download.headers["content-disposition"]
    result = json.loads(download.content)
    assert result["hash_value"] == hashlib.md5(image.read_bytes()).hexdigest()
    assert result["algorithm"] == "md5"
    assert result["media_type"] == "image"


def test_hash_sha512_hashes_decoded_pixels(noauth_stack: Stack, tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "pixels.jpg")
    job_id = submit_ok(noauth_stack.compute_url, "hash", image)
    job = wait_for_status(noauth_stack.compute_url, job_id)
    assert job["status"] == "completed", job
    assert job["params"]["algorithm"] == "sha512"
    raw = httpx.get(f"{noauth_stack.compute_url}/jobs/{job_id}/files/output/hash.json").content
    result = json.loads(raw)
    with Image.open(image) as decoded:
        expected = hashlib.sha512(decoded.tobytes()).hexdigest()
    assert result["algorithm"] == "sha512_image"
    assert result["hash_value"] == expected


def test_exif_job_reports_camera_tags(noauth_stack: Stack, tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "camera.jpg", exif=camera_exif("Acme", "Shooter 3"))
    job_id = submit_ok(noauth_stack.compute_url, "exif", image)
    job = wait_for_status(noauth_stack.compute_url, job_id)
    assert job["status"] == "completed", job
    output = job["task_output"]
    assert output["make"] == "Acme"
    assert output["model"] == "Shooter 3"
    assert output["software"] == "cl-tests"
    assert output["orientation"] == 1
    assert output["iso"] is None and output["gps_latitude"] is None
    assert job["params"]["tags"] == []
    stored = httpx.get(
        f"{noauth_stack.compute_url}/jobs/{job_id}/files/output/exif_metadata.json"
    ).json()
    assert stored == output


def test_image_without_exif_completes_with_nulls(noauth_stack: Stack, tmp_path: Path) -> None:
    png = tmp_path / "plain.png"
    Image.new("RGB", (30, 20), (1, 2, 3)).save(png)
    job = wait_for_status(
        noauth_stack.compute_url, submit_ok(noauth_stack.compute_url, "exif", png)
    )
    assert job["status"] == "completed", job
    output = job["task_output"]
    assert output["make"] is None and output["model"] is None
    assert output["raw_metadata"] == {} or isinstance(output["raw_metadata"], dict)


def test_truncated_jpeg_fails_readably_and_worker_keeps_serving(
    noauth_stack: Stack, tmp_path: Path
) -> None:
    broken = make_truncated_jpeg(tmp_path / "broken.jpg")
    job = wait_for_status(
        noauth_stack.compute_url, submit_ok(noauth_stack.compute_url, "exif", broken)
    )
    assert job["status"] == "failed"
    assert job["task_output"] is None
    assert job["completed_at"] is not None
    message = job["error_message"]
    assert isinstance(message, str) and message
    assert "Traceback" not in message

    # The same worker process serves the next job.
    worker = noauth_stack.workers[0]
    assert worker.process.poll() is None
    good = make_jpeg(tmp_path / "good.jpg")
    after = wait_for_status(
        noauth_stack.compute_url, submit_ok(noauth_stack.compute_url, "hash", good)
    )
    assert after["status"] == "completed"


def test_mqtt_events_queued_processing_completed(noauth_stack: Stack, tmp_path: Path) -> None:
    with recording_events(noauth_stack.mqtt_host, noauth_stack.mqtt_port) as recorder:
        job_id = submit_ok(noauth_stack.compute_url, "hash", make_jpeg(tmp_path / "e.jpg"))
        # Wait for the completion and its re-publication about a second later.
        assert recorder.wait_for(
            lambda: recorder.kinds(job_id).count("completed") >= 2, timeout=30
        ), recorder.events
        job = get_job(noauth_stack.compute_url, job_id)
    events = recorder.events

    mine = [e for e in events if e["job_id"] == job_id]
    arrived = [
        t for e, t in zip(events, recorder.arrival_times, strict=True) if e["job_id"] == job_id
    ]
    kinds = [e["event_type"] for e in mine]
    first_completed = kinds.index("completed")
    assert kinds[0] == "queued"
    assert kinds[1] == "processing"
    assert set(kinds[1:first_completed]) == {"processing"}
    assert kinds[first_completed:] == ["completed", "completed"]
    assert mine[first_completed]["progress"] == 100
    # The same event again, about a second later: its timestamp still says when the job ended.
    assert mine[-1] == mine[first_completed]
    assert arrived[-1] - arrived[first_completed] >= 0.9
    assert all(isinstance(e["timestamp"], int) for e in mine)
    assert set(mine[0]) == {"job_id", "event_type", "timestamp", "progress"}
    assert job["status"] == "completed"


def test_submission_validation_errors(noauth_stack: Stack, tmp_path: Path) -> None:
    image = make_jpeg(tmp_path / "v.jpg")
    url = noauth_stack.compute_url
    missing_file = httpx.post(f"{url}/jobs/hash", data={"algorithm": "md5"})
    assert missing_file.status_code == 422
    assert any(err["loc"] == ["body", "file"] for err in missing_file.json()["detail"])

    bad_algorithm = submit(url, "hash", image, data={"algorithm": "sha1"})
    assert bad_algorithm.status_code == 422
    assert any("algorithm" in err["loc"] for err in bad_algorithm.json()["detail"])

    for priority in ("11", "-1", "high"):
        response = submit(url, "hash", image, data={"priority": priority})
        assert response.status_code == 422, priority

    unknown = submit(url, "no_such_plugin", image)
    assert 400 <= unknown.status_code < 500


def test_get_and_delete_unknown_job(noauth_stack: Stack) -> None:
    url = noauth_stack.compute_url
    response = httpx.get(f"{url}/jobs/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json() == {"detail": "Job 00000000-0000-4000-8000-000000000000 not found"}
    assert httpx.delete(f"{url}/jobs/nope").status_code == 404


def test_delete_removes_record_and_files(noauth_stack: Stack, tmp_path: Path) -> None:
    url = noauth_stack.compute_url
    job_id = submit_ok(url, "hash", make_jpeg(tmp_path / "d.jpg"))
    wait_for_status(url, job_id)
    job_dir = noauth_stack.data_dir / "compute" / "jobs" / job_id
    assert job_dir.is_dir()
    response = httpx.delete(f"{url}/jobs/{job_id}")
    assert response.status_code == 204
    assert response.content == b""
    assert httpx.get(f"{url}/jobs/{job_id}").status_code == 404
    assert not job_dir.exists()


def test_priority_is_stored(noauth_stack: Stack, tmp_path: Path) -> None:
    url = noauth_stack.compute_url
    job_id = submit_ok(url, "hash", make_jpeg(tmp_path / "p.jpg"), data={"priority": "9"})
    assert wait_for_status(url, job_id)["priority"] == 9
