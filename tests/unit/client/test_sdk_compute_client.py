"""ComputeClient, plugin clients, polling fallback, downloads and batches against a fake server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from cl_client import (
    ComputeClient,
    JobNotFoundError,
    JobResponse,
    JWTAuthProvider,
    MQTTJobMonitor,
    NoAuthProvider,
    ServerConfig,
    WorkerUnavailableError,
)
from cl_client.batch import BatchProgress
from cl_client.exceptions import (
    ForbiddenError,
    InvalidRequestError,
    JobNotFoundHTTPError,
    NotFoundError,
    ServerUnreachableError,
)
from cl_client.plugins import PLUGIN_CLIENT_CLASSES
from tests.unit.client.sdk_fakes import COMPLETED, FakeComputeServer, offline_client

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture
def server() -> FakeComputeServer:
    return FakeComputeServer()


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8fake-jpeg")
    return path


def publish(monitor: MQTTJobMonitor, job_id: str, status: str, progress: int = 0) -> None:
    body = {"job_id": job_id, "event_type": status, "progress": progress, "timestamp": 1}
    monitor.handle_message("inference/events", json.dumps(body).encode())


def test_constructor_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPUTE_URL", "http://env-compute:1/")
    monitor = MQTTJobMonitor(connect=False)
    client = ComputeClient(mqtt_monitor=monitor)
    assert client.base_url == "http://env-compute:1"
    assert client.timeout == 30.0
    assert isinstance(client.auth, NoAuthProvider)
    assert str(client._session.base_url) == "http://env-compute:1"
    assert client._mqtt is monitor
    config = ServerConfig(compute_url="http://cfg:2")
    other = ComputeClient(server_config=config, timeout=5, mqtt_monitor=monitor)
    assert other.base_url == "http://cfg:2" and other.timeout == 5


async def test_plugin_properties_are_lazy_singletons(server: FakeComputeServer) -> None:
    async with offline_client(server) as client:
        assert client._plugins == {}
        for task_type in PLUGIN_CLIENT_CLASSES:
            first = getattr(client, task_type)
            assert getattr(client, task_type) is first
            assert first.task_type == task_type and first.endpoint == f"/jobs/{task_type}"
            assert first.client is client
        assert client.plugin("hash") is client.hash
        with pytest.raises(ValueError):
            client.plugin("nope")
        with pytest.raises(NotImplementedError):
            await client.hash.submit_job()


async def test_submit_sends_multipart_and_string_params(
    server: FakeComputeServer, image: Path
) -> None:
    async with offline_client(server) as client:
        job = await client.image_conversion.convert(image, "png", quality=70)
        assert job.status == "queued" and job.task_type == "image_conversion"
        task_type, fields, files = server.submissions[-1]
        assert task_type == "image_conversion"
        assert fields == {"priority": "5", "format": "png", "quality": "70"}
        assert files["file"] == ("photo.jpg", image.read_bytes())  # noqa: ASYNC240

        await client.media_thumbnail.generate(image, width=64)
        assert server.submissions[-1][1] == {"priority": "5", "width": "64"}
        await client.clip_embedding.embed_image(image, normalize=False, priority=9)
        assert server.submissions[-1][1] == {"priority": "9", "normalize": "False"}
        await client.exif.extract(image, tags=["Make", "Model"])
        assert server.submissions[-1][1]["tags"] == "Make,Model"
        await client.hls_streaming.generate_manifest(
            image, variants=[(360, 800)], include_original=True
        )
        fields = server.submissions[-1][1]
        assert json.loads(fields["variants"]) == [{"resolution": 360, "bitrate": 800}]
        assert fields["include_original"] == "True"
        await client.face_detection.detect(image, confidence_threshold=0.5)
        assert server.submissions[-1][1]["confidence_threshold"] == "0.5"
        await client.hash.submit_with_files({"file": image}, {"algorithm": "md5", "empty": None})
        assert server.submissions[-1][1] == {"priority": "5", "algorithm": "md5", "empty": ""}
        for call in (
            client.dino_embedding.embed_image(image),
            client.face_embedding.embed_faces(image),
            client.hash.compute(image, algorithm="md5"),
        ):
            assert (await call).status == "queued"
        assert [s[0] for s in server.submissions[-3:]] == [
            "dino_embedding",
            "face_embedding",
            "hash",
        ]


async def test_missing_file_sends_nothing(server: FakeComputeServer, tmp_path: Path) -> None:
    async with offline_client(server) as client:
        with pytest.raises(FileNotFoundError):
            await client.hash.compute(tmp_path / "missing.jpg")
    assert server.requests == []


async def test_embed_text_posts_form_without_file(server: FakeComputeServer) -> None:
    async with offline_client(server) as client:
        job = await client.clip_embedding.embed_text("a red bicycle", normalize=True)
        assert job.task_type == "clip_text_embedding"
        task_type, fields, files = server.submissions[-1]
        assert task_type == "clip_text_embedding" and files == {}
        assert fields == {"text": "a red bicycle", "normalize": "True", "priority": "5"}
        with pytest.raises(ValueError):
            await client.clip_embedding.embed_text("  ")


async def test_wait_returns_terminal_job(server: FakeComputeServer, image: Path) -> None:
    async with offline_client(server) as client:
        client_job = await client.hash.submit_with_files({"file": image})
        job = await client.wait_for_job(client_job.job_id, poll_interval=0.01)
        assert job.status == "completed" and job.progress == 100
        waited = await client.hash.compute(image, wait=True, timeout=5)
        assert waited.status == "completed"


async def test_wait_timeout_names_job(server: FakeComputeServer, image: Path) -> None:
    server.script = [{"status": "processing", "progress": 10}]
    async with offline_client(server) as client:
        job = await client.hash.compute(image)
        with pytest.raises(TimeoutError) as info:
            await client.wait_for_job(job.job_id, poll_interval=0.01, timeout=0.05)
        message = str(info.value)
        assert job.job_id in message and "timeout" in message


async def test_wait_backoff_delays(
    server: FakeComputeServer, image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.script = [{"status": "processing"}] * 6 + [COMPLETED]
    delays: list[float] = []
    real_wait_for = asyncio.wait_for

    async def recording_wait_for(aw: Any, delay: float | None) -> Any:
        delays.append(delay or 0)
        return await real_wait_for(aw, 0)

    async with offline_client(server) as client:
        job = await client.hash.compute(image)
        monkeypatch.setattr(asyncio, "wait_for", recording_wait_for)
        await client.wait_for_job(job.job_id)
        monkeypatch.undo()
    assert delays[:5] == pytest.approx([1.0, 1.5, 2.25, 3.375, 5.0625])


async def test_wait_wakes_on_terminal_event(server: FakeComputeServer, image: Path) -> None:
    server.script = [{"status": "processing"}, {"status": "processing"}, COMPLETED]
    async with offline_client(server) as client:
        job = await client.hash.compute(image)
        waiter = asyncio.create_task(client.wait_for_job(job.job_id, poll_interval=30))
        await asyncio.sleep(0.05)
        assert not waiter.done()  # sleeping on a 30 s interval
        publish(client._mqtt, job.job_id, "completed", 100)
        done = await asyncio.wait_for(waiter, 5)
        assert done.status == "completed"


async def test_http_errors_are_typed(server: FakeComputeServer, image: Path) -> None:
    async with offline_client(server) as client:
        with pytest.raises(JobNotFoundError) as info:
            await client.get_job("nope")
        assert isinstance(info.value, httpx.HTTPStatusError)
        assert info.value.response.status_code == 404 and info.value.job_id == "nope"
        with pytest.raises(JobNotFoundHTTPError):
            await client.delete_job("nope")
        server.reject_submissions = (422, [{"loc": ["body", "format"], "msg": "bad"}])
        with pytest.raises(InvalidRequestError, match=r"body\.format: bad"):
            await client.image_conversion.convert(image, "xyz")
        server.reject_submissions = (403, "Insufficient permissions")
        with pytest.raises(ForbiddenError):
            await client.hash.compute(image)


async def test_unreachable_server_is_typed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monitor = MQTTJobMonitor(connect=False)
    async with ComputeClient(
        "http://down.test", mqtt_monitor=monitor, transport=httpx.MockTransport(refuse)
    ) as client:
        with pytest.raises(ServerUnreachableError) as info:
            await client.get_capabilities()
        assert "http://down.test" in str(info.value)
        with pytest.raises(httpx.ConnectError):
            await client.download_job_file("j", "output/x", Path("unused"))


async def test_delete_and_admin_endpoints(server: FakeComputeServer, image: Path) -> None:
    async with offline_client(server) as client:
        job = await client.hash.compute(image)
        await client.delete_job(job.job_id)
        assert job.job_id not in server.jobs
        assert await client.update_guest_mode(False) is True
        assert server.guest_mode is False
        assert (await client.get_admin_config()).guest_mode is False
        info = await client.get_service_info()
        assert info.guestMode == "off" and info.auth_required is True
        assert (await client.get_storage_size()).total_size == 123
        assert (await client.cleanup_jobs(3)).deleted_count == 3
        caps = await client.get_capabilities()
        assert caps.num_workers == 1 and caps.capabilities == {"hash": 1}


async def test_auth_headers_fetched_per_request(server: FakeComputeServer) -> None:
    tokens = iter(["t1", "t2"])
    current = {"token": next(tokens)}
    refreshes: list[int] = []

    async def refresh() -> str:
        refreshes.append(1)
        return current["token"]

    provider = JWTAuthProvider(
        get_cached_token=lambda: current["token"], get_valid_token_async=refresh
    )
    async with offline_client(server, auth_provider=provider) as client:
        await client.get_capabilities()
        current["token"] = next(tokens)
        await client.get_capabilities()
        client.auth = NoAuthProvider()
        await client.get_capabilities()
    auth = [r.headers.get("authorization") for r in server.requests]
    assert auth == ["Bearer t1", "Bearer t2", None]
    assert len(refreshes) == 2


async def test_downloads(server: FakeComputeServer, tmp_path: Path) -> None:
    server.job_files = {"output/hash.json": b'{"hash_value": "ab"}', "faces/face_0.png": b"png0"}
    job = server.add_job("face_detection")
    async with offline_client(server) as client:
        dest = tmp_path / "deep" / "hash.json"
        await client.download_job_file(job.job_id, "output/hash.json", dest)
        assert dest.read_bytes() == b'{"hash_value": "ab"}'
        with pytest.raises(NotFoundError) as info:
            await client.download_job_file(job.job_id, "output/missing.bin", tmp_path / "m.bin")
        assert not isinstance(info.value, JobNotFoundError)
        assert not (tmp_path / "m.bin").exists()
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # noqa: ASYNC240
        with pytest.raises(JobNotFoundError):
            await client.download_job_file("nope", "output/hash.json", tmp_path / "n.json")
        paths = await client.download_job_files(
            job.job_id, ["output/hash.json", "faces/face_0.png"], tmp_path / "all"
        )
        assert [p.read_bytes() for p in paths] == [b'{"hash_value": "ab"}', b"png0"]
        assert paths[1] == tmp_path / "all" / "faces" / "face_0.png"
        with pytest.raises(ValueError):
            await client.download_job_files(job.job_id, ["../escape"], tmp_path)
        assert await client.get_job_file_bytes(job.job_id, "faces/face_0.png") == b"png0"


async def test_download_job_outputs_face_and_hls(server: FakeComputeServer, tmp_path: Path) -> None:
    server.job_files = {
        "output/face_detection.json": b"{}",
        "faces/face_0.png": b"f0",
        "output/adaptive.m3u8": b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"
        b"adaptive-480p-1500.m3u8\n",
        "output/adaptive-480p-1500.m3u8": b"#EXTM3U\n#EXTINF:2,\nadaptive-480p-1500-000.ts\n"
        b"#EXTINF:2,\nadaptive-480p-1500-001.ts\n#EXT-X-ENDLIST\n",
        "output/adaptive-480p-1500-000.ts": b"ts0",
        "output/adaptive-480p-1500-001.ts": b"ts1",
    }
    face_state = dict(COMPLETED, task_output={"faces": [{"file_path": "faces/face_0.png"}, "junk"]})
    face = server.add_job("face_detection", [face_state])
    hls = server.add_job("hls_streaming", [COMPLETED])
    async with offline_client(server) as client:
        face_job = await client.get_job(face.job_id)
        saved = await client.download_job_outputs(face_job, tmp_path / "face")
        assert sorted(str(p.relative_to(tmp_path / "face")) for p in saved) == [
            "face_detection.json",
            "faces/face_0.png",
        ]
        hls_job = await client.get_job(hls.job_id)
        files = await client.list_job_output_files(hls_job)
        assert files == [
            "output/adaptive.m3u8",
            "output/adaptive-480p-1500.m3u8",
            "output/adaptive-480p-1500-000.ts",
            "output/adaptive-480p-1500-001.ts",
        ]
        saved = await client.download_job_outputs(hls_job, tmp_path / "hls")
        assert (tmp_path / "hls" / "adaptive-480p-1500-001.ts").read_bytes() == b"ts1"
        assert len(saved) == 4
        failed = hls_job.model_copy(update={"status": "failed"})
        assert await client.list_job_output_files(failed) == []


async def test_wait_for_workers_offline_uses_http(server: FakeComputeServer) -> None:
    async with offline_client(server) as client:
        assert await client.wait_for_workers(None) is True
        assert await client.wait_for_workers([]) is True
        assert await client.wait_for_workers(["hash"], timeout=1) is True
        with pytest.raises(WorkerUnavailableError) as info:
            await client.wait_for_workers(["hash", "exif"], timeout=0.05)
        assert info.value.task_type == "exif" and info.value.available_capabilities == {"hash": 1}


async def test_wait_for_workers_connected_uses_mqtt_map(server: FakeComputeServer) -> None:
    server.capabilities = {"num_workers": 0, "capabilities": {}}
    monitor = MQTTJobMonitor(connect=False)
    monitor._connected = True  # pretend the broker is up; messages are injected below
    async with offline_client(server, mqtt_monitor=monitor) as client:
        waiter = asyncio.create_task(client.wait_for_workers(["exif"], timeout=5))
        await asyncio.sleep(0.01)
        body = {"worker_id": "w", "capabilities": ["exif"], "idle_count": 1, "timestamp": 1}
        await asyncio.to_thread(
            monitor.handle_message, "inference/workers/w", json.dumps(body).encode()
        )
        assert await asyncio.wait_for(waiter, 5) is True
        assert set(client.get_worker_capabilities()) == {"w"}
    assert not any(r.url.path == "/capabilities" for r in server.requests)


async def test_polling_fallback_drives_callbacks_when_offline(
    server: FakeComputeServer, image: Path
) -> None:
    server.script = [
        {"status": "queued"},
        {"status": "processing", "progress": 30},
        {"status": "processing", "progress": 30},
        COMPLETED,
    ]
    progress: list[tuple[str, int]] = []
    completed: list[JobResponse] = []
    done = asyncio.Event()

    async def on_complete(job: JobResponse) -> None:
        completed.append(job)
        done.set()

    async with offline_client(server) as client:
        client._fallback.poll_interval = 0.01
        job = await client.hash.compute(
            image,
            on_progress=lambda j: progress.append((j.status, j.progress)),
            on_complete=on_complete,
        )
        await asyncio.wait_for(done.wait(), 5)
        await asyncio.sleep(0.05)
    assert progress[-1] == ("completed", 100)
    assert ("processing", 30) in progress and progress.count(("processing", 30)) == 1
    assert len(completed) == 1 and completed[0].job_id == job.job_id
    assert completed[0].task_output == {"media_type": "image"}  # polled snapshots carry output


async def test_unsubscribe_stops_fallback_and_deleted_job_ends_it(
    server: FakeComputeServer, image: Path
) -> None:
    server.script = [{"status": "processing", "progress": 5}]
    async with offline_client(server) as client:
        client._fallback.poll_interval = 0.01
        job = await client.hash.compute(image)
        sub = client.subscribe_job_updates(job.job_id, on_progress=lambda j: None)
        await asyncio.sleep(0.05)
        assert client._fallback.active == 1
        client.unsubscribe(sub)
        await asyncio.sleep(0.02)
        assert client._fallback.active == 0
        client.mqtt_subscribe_job_updates(job.job_id, on_progress=lambda j: None)
        await client.delete_job(job.job_id)
        for _ in range(100):
            if client._fallback.active == 0:
                break
            await asyncio.sleep(0.01)
        assert client._fallback.active == 0


async def test_connected_monitor_polls_once_after_reconnect(
    server: FakeComputeServer, image: Path
) -> None:
    """A job that finished while the broker was away completes on reconnect (catch-up poll)."""
    server.script = [{"status": "processing", "progress": 5}]
    monitor = MQTTJobMonitor(connect=False)
    monitor._connected = True
    done = asyncio.Event()
    async with offline_client(server, mqtt_monitor=monitor) as client:
        job = await client.hash.compute(image, on_complete=lambda j: done.set())
        await asyncio.sleep(0.02)
        gets_before = len([r for r in server.requests if r.method == "GET"])
        server.jobs[job.job_id].script = [COMPLETED]
        # Broker lost and back before the watcher runs: the reconnect still triggers a poll.
        await asyncio.to_thread(monitor._set_connected, False)
        await asyncio.to_thread(monitor._set_connected, True)
        assert monitor.connection_generation == 1
        await asyncio.wait_for(done.wait(), 5)
        assert len([r for r in server.requests if r.method == "GET"]) > gets_before


async def test_late_subscription_replays_fast_completion(
    server: FakeComputeServer, image: Path
) -> None:
    """MQTT events that arrive before the subscription still fire on_complete exactly once."""
    monitor = MQTTJobMonitor(connect=False)
    monitor._connected = True
    server.script = [COMPLETED]

    def fast_worker(job: Any) -> None:
        for status, progress in (("queued", 0), ("processing", 0), ("completed", 100)):
            publish(monitor, job.job_id, status, progress)

    server.on_submit = fast_worker
    completions: list[str] = []
    async with offline_client(server, mqtt_monitor=monitor) as client:
        job = await client.hash.compute(image)
        client.mqtt_subscribe_job_updates(
            job.job_id, on_complete=lambda j: completions.append(j.status)
        )
        publish(monitor, job.job_id, "completed", 100)  # the server's re-publication
        await asyncio.sleep(0.05)
    assert completions == ["completed"]


async def test_batch_bounded_concurrency_and_aggregate_progress(
    server: FakeComputeServer, tmp_path: Path
) -> None:
    files = []
    for i in range(7):
        path = tmp_path / f"img{i}.jpg"
        path.write_bytes(b"x" * (i + 1))
        files.append(path)
    missing = tmp_path / "missing.jpg"
    in_flight = {"now": 0, "max": 0}
    server.script = [{"status": "processing", "progress": 50}, COMPLETED]
    original = server.handle

    def tracking(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        elif request.method == "GET":
            job = server.jobs.get(request.url.path.split("/")[-1])
            if job is not None and job.gets >= len(job.script) - 1:
                in_flight["now"] -= 1
        return original(request)

    server.handle = tracking  # type: ignore[method-assign]
    states: list[BatchProgress] = []
    done_items: list[str] = []
    async with offline_client(server) as client:
        items = await client.hash.submit_batch(
            [*files, missing],
            {"algorithm": "md5"},
            concurrency=3,
            on_progress=states.append,
            on_item_done=lambda item: done_items.append(item.path.name),
        )
    assert [i.path for i in items] == [*files, missing]
    assert all(i.ok for i in items[:7])
    assert not items[7].ok and isinstance(items[7].error, FileNotFoundError)
    assert items[7].status == "failed" and items[0].status == "completed"
    assert in_flight["max"] <= 3
    assert states[-1].completed == 7 and states[-1].failed == 1 and states[-1].percent == 100
    assert states[-1].done == 8 and states[0].percent == 0
    assert sorted(done_items) == sorted(p.name for p in [*files, missing])
    assert all(s[1]["algorithm"] == "md5" for s in server.submissions)
    percents = [s.percent for s in states]
    assert percents == sorted(percents)
    with pytest.raises(ValueError):
        await client.hash.submit_batch(files, concurrency=0)


async def test_batch_reads_each_job_once_when_it_ends(
    server: FakeComputeServer, tmp_path: Path
) -> None:
    files = [tmp_path / f"p{i}.jpg" for i in range(4)]
    for path in files:
        path.write_bytes(b"p")
    server.script = [COMPLETED]
    submitted: list[tuple[str | None, object]] = []
    async with offline_client(server) as client:
        items = await client.hash.submit_batch(
            files, on_item_submitted=lambda item: submitted.append((item.job_id, item.job))
        )
    assert all(item.ok for item in items)
    # The job id is known at submission; the job itself is read once, when it has ended.
    assert sorted(job_id for job_id, _ in submitted) == sorted(i.job_id for i in items)
    assert all(job is None for _, job in submitted)
    assert [i.job.job_id for i in items if i.job] == [i.job_id for i in items]
    gets = [r for r in server.requests if r.method == "GET" and "/jobs/" in r.url.path]
    assert len(gets) == len(files)


async def test_batch_async_progress_and_timeout(server: FakeComputeServer, tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(b"a")
    server.script = [{"status": "processing", "progress": 10}]
    seen: list[float] = []

    async def on_progress(state: BatchProgress) -> None:
        seen.append(state.percent)

    async with offline_client(server) as client:
        items = await client.hash.submit_batch([path], timeout=0.05, on_progress=on_progress)
    assert isinstance(items[0].error, TimeoutError)
    assert items[0].status == "processing" and not items[0].ok
    assert seen[-1] == 100


async def test_close_is_idempotent(server: FakeComputeServer) -> None:
    client = offline_client(server)
    await client.close()
    await client.close()
    assert client._session.is_closed
