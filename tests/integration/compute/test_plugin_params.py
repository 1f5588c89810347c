"""Per-plugin form validation and stored ``params`` (PROTOCOL §4.1), no worker needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.jobs import get_job, submit
from tests.support.media import make_jpeg
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def idle_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("params"), workers=0) as stack:
        yield stack


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_jpeg(tmp_path_factory.mktemp("photo") / "holiday.jpg")


DEFAULT_VARIANTS = [{"resolution": 720, "bitrate": 3500}, {"resolution": 480, "bitrate": 1500}]


@pytest.mark.parametrize(
    ("task_type", "form", "expected"),
    [
        ("hash", {}, {"algorithm": "sha512", "output_path": "output/hash.json"}),
        ("exif", {"tags": "Make, Model"}, {"tags": ["Make", "Model"]}),
        ("exif", {}, {"tags": [], "output_path": "output/exif_metadata.json"}),
        ("clip_embedding", {}, {"normalize": True, "output_path": "output/clip_embedding.npy"}),
        ("dino_embedding", {"normalize": "False"}, {"normalize": False}),
        ("face_embedding", {}, {"normalize": True, "output_path": "output/face_embedding.npy"}),
        (
            "face_detection",
            {},
            {
                "confidence_threshold": 0.7,
                "nms_threshold": 0.4,
                "output_path": "output/face_detection.json",
            },
        ),
        (
            "image_conversion",
            {"format": "jpeg", "quality": "70"},
            {"format": "jpeg", "quality": 70, "output_path": "output/converted_holiday.jpg"},
        ),
        (
            "media_thumbnail",
            {"width": "100"},
            {"width": 100, "maintain_aspect_ratio": True, "output_path": "output/thumbnail.jpg"},
        ),
        (
            "hls_streaming",
            {},
            {"variants": DEFAULT_VARIANTS, "include_original": False, "output_path": "output"},
        ),
    ],
)
def test_valid_params_are_stored(
    idle_stack: Stack,
    photo: Path,
    task_type: str,
    form: dict[str, str],
    expected: dict[str, object],
) -> None:
    response = submit(idle_stack.compute_url, task_type, photo, data=form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "queued" and body["task_type"] == task_type
    params = get_job(idle_stack.compute_url, body["job_id"])["params"]
    assert params["input_path"] == "input/holiday.jpg"
    for key, value in expected.items():
        assert params[key] == value, (key, params)


@pytest.mark.parametrize(
    ("task_type", "form", "field"),
    [
        ("hash", {"algorithm": "crc32"}, "algorithm"),
        ("clip_embedding", {"normalize": "perhaps"}, "normalize"),
        ("face_detection", {"confidence_threshold": "1.5"}, "confidence_threshold"),
        ("face_detection", {"nms_threshold": "-0.1"}, "nms_threshold"),
        ("image_conversion", {}, "format"),
        ("image_conversion", {"format": "svg"}, "format"),
        ("image_conversion", {"format": "png", "quality": "0"}, "quality"),
        ("image_conversion", {"format": "png", "quality": "101"}, "quality"),
        ("media_thumbnail", {"width": "0"}, "width"),
        ("media_thumbnail", {"height": "-5"}, "height"),
        ("hls_streaming", {"variants": "[]"}, "variants"),
        ("hls_streaming", {"variants": "not json"}, "variants"),
        (
            "hls_streaming",
            {"variants": json.dumps([{"resolution": 720, "bitrate": 50}])},
            "variants",
        ),
        (
            "hls_streaming",
            {"variants": json.dumps([{"resolution": None, "bitrate": 800}])},
            "variants",
        ),
    ],
)
def test_invalid_params_are_422(
    idle_stack: Stack, photo: Path, task_type: str, form: dict[str, str], field: str
) -> None:
    response = submit(idle_stack.compute_url, task_type, photo, data=form)
    assert response.status_code == 422, response.text
    assert any(field in err["loc"] for err in response.json()["detail"]), response.json()


def test_clip_text_job_takes_text_and_no_file(idle_stack: Stack) -> None:
    url = idle_stack.compute_url
    ok = httpx.post(f"{url}/jobs/clip_text_embedding", data={"text": "a photo of a dog"})
    assert ok.status_code == 200, ok.text
    params = get_job(url, ok.json()["job_id"])["params"]
    assert params["text"] == "a photo of a dog"
    assert params["output_path"] == "output/clip_text_embedding.npy"
    missing = httpx.post(f"{url}/jobs/clip_text_embedding", data={})
    assert missing.status_code == 422
