"""Every plugin client method, by polling and by callbacks, against a worker offering all tasks.

CLIP and DINOv2 run tiny generated ONNX models with the real input/output contract (real weights
are not available offline); the face plugins run dlib's real models. A task the worker does not
offer is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cl_client import ComputeClient, JobResponse, OnJobResponseCallback
from tests.integration.client.conftest import CallbackRecorder, Media, require_task
from tests.support.stack import Stack, running_stack
from tests.unit.plugins.ml_support import make_image_encoder, make_text_encoder, make_vocab

pytestmark = pytest.mark.integration

Call = Callable[
    [ComputeClient, Media, bool, OnJobResponseCallback, OnJobResponseCallback],
    Awaitable[JobResponse],
]


@dataclass(frozen=True)
class PluginCase:
    task_type: str
    call: Call
    needs: str = "photo"  # which media the call uses
    timeout: float = 30.0


CASES = [
    PluginCase(
        "clip_embedding",
        lambda c, m, w, p, d: c.clip_embedding.embed_image(
            m.photo, wait=w, timeout=30, on_progress=p, on_complete=d
        ),
    ),
    PluginCase(
        "clip_text_embedding",
        lambda c, m, w, p, d: c.clip_embedding.embed_text(
            "a photo of a dog", wait=w, timeout=30, on_progress=p, on_complete=d
        ),
        needs="none",
    ),
    PluginCase(
        "dino_embedding",
        lambda c, m, w, p, d: c.dino_embedding.embed_image(
            m.photo, wait=w, timeout=30, on_progress=p, on_complete=d
        ),
    ),
    PluginCase(
        "exif",
        lambda c, m, w, p, d: c.exif.extract(
            m.photo, wait=w, timeout=30, on_progress=p, on_complete=d
        ),
    ),
    PluginCase(
        "face_detection",
        lambda c, m, w, p, d: c.face_detection.detect(
            _need(m.face), wait=w, timeout=30, on_progress=p, on_complete=d
        ),
        needs="face",
    ),
    PluginCase(
        "face_embedding",
        lambda c, m, w, p, d: c.face_embedding.embed_faces(
            _need(m.face), wait=w, timeout=60, on_progress=p, on_complete=d
        ),
        needs="face",
        timeout=60,
    ),
    PluginCase(
        "hash",
        lambda c, m, w, p, d: c.hash.compute(
            m.photo, wait=w, timeout=30, on_progress=p, on_complete=d
        ),
    ),
    PluginCase(
        "hls_streaming",
        lambda c, m, w, p, d: c.hls_streaming.generate_manifest(
            _need(m.clip),
            wait=w,
            timeout=60,
            on_progress=p,
            on_complete=d,
            variants=[(240, 300)],
        ),
        needs="clip",
        timeout=60,
    ),
    PluginCase(
        "image_conversion",
        lambda c, m, w, p, d: c.image_conversion.convert(
            m.photo, "png", wait=w, timeout=30, on_progress=p, on_complete=d
        ),
    ),
    PluginCase(
        "media_thumbnail",
        lambda c, m, w, p, d: c.media_thumbnail.generate(
            m.photo, 32, 32, wait=w, timeout=30, on_progress=p, on_complete=d
        ),
    ),
]


def _need(path: Path | None) -> Path:
    if path is None:
        pytest.skip("test media unavailable (no face photo or no ffmpeg)")
    return path


def _tiny_models(root: Path) -> Path:
    clip = root / "mobileclip-s2"
    make_image_encoder(clip / "vision_model.onnx", size=16, dim=8)
    make_text_encoder(clip / "text_model.onnx", dim=8)
    make_vocab(clip / "bpe_simple_vocab_16e6.txt.gz")
    make_image_encoder(root / "dinov2-vits14" / "model.onnx", size=14, dim=6)
    return root


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    models = _tiny_models(tmp_path_factory.mktemp("sdk-models"))
    with running_stack(tmp_path_factory.mktemp("sdk-plugins"), mode="no-auth", workers=0) as s:
        s.start_worker(extra_env={"CL_MODELS_DIR": str(models)})
        s.wait_for_workers(1)
        yield s


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[ComputeClient]:
    async with ComputeClient(
        stack.compute_url, mqtt_broker=stack.mqtt_host, mqtt_port=stack.mqtt_port
    ) as compute:
        yield compute


@pytest.mark.parametrize("case", CASES, ids=[c.task_type for c in CASES])
async def test_plugin_by_polling_and_callbacks(
    case: PluginCase, client: ComputeClient, media: Media, tmp_path: Path
) -> None:
    await require_task(client, case.task_type)

    polled = await case.call(client, media, True, None, None)
    assert polled.task_type == case.task_type
    assert polled.status == "completed", polled.error_message
    assert polled.progress == 100 and polled.task_output is not None
    saved = await client.download_job_outputs(polled, tmp_path / "out")
    assert saved and all(p.stat().st_size > 0 for p in saved)

    recorder = CallbackRecorder()
    submitted = await case.call(client, media, False, recorder.on_progress, recorder.on_complete)
    final = await recorder.wait(case.timeout)
    assert final.status == "completed" and final.job_id == submitted.job_id
    assert final.task_type == case.task_type
    assert recorder.progress, "on_progress must fire at least once"
    await client._mqtt.drain()
    assert len(recorder.complete) == 1
    _check_output(case.task_type, await client.get_job(submitted.job_id), saved)


def _check_output(task_type: str, job: JobResponse, saved: list[Path]) -> None:
    output = job.task_output or {}
    names = {p.name for p in saved}
    if task_type.endswith("embedding"):
        assert output["embedding_dim"] > 0
        assert any(n.endswith(".npy") for n in names)
    elif task_type == "face_detection":
        assert output["num_faces"] >= 1
        assert any(n.startswith("face_") and n.endswith(".png") for n in names)
    elif task_type == "hls_streaming":
        assert output["variants_generated"] == 1
        assert "adaptive.m3u8" in names and any(n.endswith(".ts") for n in names)
    elif task_type == "image_conversion":
        assert job.params["format"] == "png"
        png = next(p for p in saved if p.suffix == ".png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    elif task_type == "media_thumbnail":
        assert output["media_type"] == "image"
        assert next(iter(saved)).read_bytes()[:2] == b"\xff\xd8"
    elif task_type == "exif":
        assert output["make"] == "Acme"
    elif task_type == "hash":
        assert output == {"media_type": "image"}
