"""The SDK against a real no-auth stack: polling, callbacks, replay, failures, files, batches."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cl_client import (
    ComputeClient,
    JobNotFoundError,
    ServerConfig,
    WorkerUnavailableError,
)
from cl_client.batch import BatchProgress
from tests.integration.client.conftest import CallbackRecorder, Media, terminal_events_seen
from tests.support.media import make_jpeg
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("sdk-noauth"), mode="no-auth", workers=1, tasks=["hash", "exif"]
    ) as running:
        yield running


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[ComputeClient]:
    async with ComputeClient(
        base_url=stack.compute_url, mqtt_broker=stack.mqtt_host, mqtt_port=stack.mqtt_port
    ) as compute:
        yield compute


async def test_connects_and_sees_workers(client: ComputeClient) -> None:
    assert client._mqtt._connected is True
    assert await client.wait_for_workers(["hash", "exif"], timeout=15) is True
    workers = client._mqtt.get_worker_capabilities()
    assert any({"hash", "exif"} <= set(w.capabilities) for w in workers.values())
    caps = await client.get_capabilities()
    assert caps.num_workers == 1 and set(caps.capabilities) == {"hash", "exif"}
    with pytest.raises(WorkerUnavailableError, match="dino_embedding"):
        await client.wait_for_workers(["dino_embedding"], timeout=1.0)


async def test_server_config_drives_urls(stack: Stack) -> None:
    config = ServerConfig(
        compute_url=stack.compute_url, mqtt_broker=stack.mqtt_host, mqtt_port=stack.mqtt_port
    )
    async with ComputeClient(server_config=config) as compute:
        assert compute.base_url == stack.compute_url and compute._mqtt._connected
        assert (await compute.get_service_info()).auth_required is False


async def test_hash_by_polling_with_exact_output(
    client: ComputeClient, media: Media, tmp_path: Path
) -> None:
    job = await client.hash.compute(media.photo, algorithm="md5", wait=True, timeout=30)
    assert job.status == "completed" and job.progress == 100
    assert job.task_output == {"media_type": "image"}
    dest = tmp_path / "hash.json"
    await client.download_job_file(job.job_id, "output/hash.json", dest)
    result = json.loads(dest.read_text())
    assert result["hash_value"] == hashlib.md5(media.photo.read_bytes()).hexdigest()


async def test_exif_by_callbacks_completes_exactly_once(
    client: ComputeClient, media: Media
) -> None:
    recorder = CallbackRecorder()
    job = await client.exif.extract(
        media.photo, on_progress=recorder.on_progress, on_complete=recorder.on_complete
    )
    assert job.status in ("queued", "processing", "completed")
    final = await recorder.wait(30)
    assert final.status == "completed" and final.job_id == job.job_id
    assert final.task_type == "exif"
    assert len(recorder.progress) >= 1 and recorder.progress[-1].status == "completed"
    # The server re-publishes the terminal event; the subscription still completes once.
    await terminal_events_seen(client, job.job_id, 2)
    await client._mqtt.drain()
    assert len(recorder.complete) == 1
    full = await client.get_job(job.job_id)
    assert full.task_output is not None and full.task_output["make"] == "Acme"


async def test_fast_job_completed_before_subscription_still_fires(
    client: ComputeClient, media: Media
) -> None:
    job = await client.hash.compute(media.photo, wait=True, timeout=30)
    assert job.status == "completed"
    recorder = CallbackRecorder()
    sub_a = client.subscribe_job_updates(job.job_id, recorder.on_progress, recorder.on_complete)
    other = CallbackRecorder()
    sub_b = client.mqtt_subscribe_job_updates(job.job_id, on_complete=other.on_complete)
    assert sub_a != sub_b
    assert (await recorder.wait(10)).status == "completed"
    assert (await other.wait(10)).status == "completed"
    await terminal_events_seen(client, job.job_id, 2)
    await client._mqtt.drain()
    assert len(recorder.complete) == 1 and len(other.complete) == 1
    client.unsubscribe(sub_a)
    client.unsubscribe(sub_b)
    assert sub_a not in client._mqtt._job_subscriptions


async def test_failed_job_fires_on_complete_with_failed(
    client: ComputeClient, media: Media
) -> None:
    recorder = CallbackRecorder()
    job = await client.exif.extract(media.truncated, on_complete=recorder.on_complete)
    final = await recorder.wait(30)
    assert final.status == "failed" and final.job_id == job.job_id
    waited = await client.wait_for_job(job.job_id, timeout=10)
    assert waited.status == "failed"
    assert waited.error_message and "Traceback" not in waited.error_message
    assert waited.task_output is None


async def test_files_and_delete(client: ComputeClient, media: Media, tmp_path: Path) -> None:
    job = await client.exif.extract(media.photo, wait=True, timeout=30)
    paths = await client.download_job_files(
        job.job_id, ["output/exif_metadata.json", f"input/{media.photo.name}"], tmp_path
    )
    assert json.loads(paths[0].read_text())["make"] == "Acme"
    assert paths[1].read_bytes() == media.photo.read_bytes()
    saved = await client.download_job_outputs(job, tmp_path / "outputs")
    assert [p.name for p in saved] == ["exif_metadata.json"]
    await client.delete_job(job.job_id)
    with pytest.raises(JobNotFoundError) as info:
        await client.get_job(job.job_id)
    assert info.value.response.status_code == 404  # type: ignore[attr-defined]


async def test_wait_for_job_timeout(client: ComputeClient) -> None:
    with pytest.raises(JobNotFoundError):
        await client.wait_for_job("00000000-0000-4000-8000-000000000000", timeout=1)


async def test_batch_of_files(client: ComputeClient, tmp_path: Path) -> None:
    files = [make_jpeg(tmp_path / f"b{i}.jpg", (32 + i, 24)) for i in range(6)]
    states: list[BatchProgress] = []
    items = await client.hash.submit_batch(files, {"algorithm": "md5"}, concurrency=2,
                                           timeout=60, on_progress=states.append)  # fmt: skip
    assert [i.path for i in items] == files
    assert all(i.ok for i in items), [i.error or i.job for i in items]
    assert states[-1].completed == 6 and states[-1].percent == 100
    assert len({i.job.job_id for i in items if i.job}) == 6
    assert not client._mqtt._job_subscriptions  # the batch removed its own subscriptions
