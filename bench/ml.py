"""ML plugins: images/s through the runner and through the service vs a direct loop over the model.

For each ML plugin, in one run on one machine:
- direct: a plain loop over the model itself (no runner, no files, no service), per image;
- runner: ``runner.run(ctx)`` per job (decode, preprocess, model, write .npy/.json/.png);
- runner batched: ``runner.run_batch`` with the runner's ``max_batch_size``;
- service: jobs over HTTP to a real stack with one worker subprocess, submitted one by one
  (each waited for) and queued all at once (the worker claims batches); throughput from the
  jobs' own ``started_at``/``completed_at`` for the queued case;
- the worker's resident memory (VmRSS) with every ML model loaded.

Models: face_detection/face_embedding run dlib's real models (shipped by face_recognition_models).
CLIP and DINO run the real ONNX weights when ``../shared/models`` (or ``CL_TEST_MODELS_DIR``) has
them, otherwise tiny generated ONNX models with the same contract (the table says which; tiny-model
figures measure the pipeline's overhead, not the model).

Run: ``uv run python bench/ml.py [--images 16] [--no-service]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cl_server.plugins._ml.image_runner import ImageEmbeddingRunner  # noqa: E402
from cl_server.plugins._ml.images import encoder_input, open_rgb  # noqa: E402
from cl_server.plugins.base import JobContext, PluginRunner  # noqa: E402
from cl_server.plugins.clip_embedding.spec import ClipEmbeddingSpec  # noqa: E402
from cl_server.plugins.clip_text_embedding.runner import ClipTextRunner  # noqa: E402
from cl_server.plugins.clip_text_embedding.spec import ClipTextEmbeddingSpec  # noqa: E402
from cl_server.plugins.dino_embedding.spec import DinoEmbeddingSpec  # noqa: E402
from cl_server.plugins.face_detection.runner import FaceDetectionRunner  # noqa: E402
from cl_server.plugins.face_detection.spec import FaceDetectionSpec  # noqa: E402
from cl_server.plugins.face_embedding.runner import FaceEmbeddingRunner  # noqa: E402
from cl_server.plugins.face_embedding.spec import FaceEmbeddingSpec  # noqa: E402
from tests.unit.plugins.ml_support import (  # noqa: E402
    make_image_encoder,
    make_text_encoder,
    make_vocab,
    real_models_dir,
)

FACES = ROOT / "tests" / "data" / "faces"


@dataclass
class Row:
    task: str
    model: str
    direct: float
    runner: float
    batched: float
    service_one: float | None = None
    service_queued: float | None = None


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def prepare_models(root: Path) -> tuple[Path, dict[str, str]]:
    """Real weights where available, else tiny ones in ``root``; returns the dir and labels."""
    real = real_models_dir()
    labels: dict[str, str] = {}
    clip_files = ("vision_model.onnx", "text_model.onnx", "bpe_simple_vocab_16e6.txt.gz")
    real_clip = real is not None and all((real / "mobileclip-s2" / f).is_file() for f in clip_files)
    real_dino = real is not None and (real / "dinov2-vits14" / "model.onnx").is_file()
    if real is not None and real_clip and real_dino:
        return real, {"clip": "mobileclip-s2 (real)", "dino": "dinov2-vits14 (real)"}
    clip = root / "mobileclip-s2"
    dino = root / "dinov2-vits14"
    if real is not None and real_clip:
        for f in clip_files:
            (clip / f).parent.mkdir(parents=True, exist_ok=True)
            (clip / f).symlink_to(real / "mobileclip-s2" / f)
        labels["clip"] = "mobileclip-s2 (real)"
    else:
        make_image_encoder(clip / "vision_model.onnx", size=256, dim=512, pool=16)
        make_text_encoder(clip / "text_model.onnx", dim=512)
        make_vocab(clip / "bpe_simple_vocab_16e6.txt.gz")
        labels["clip"] = "tiny ONNX (pool+linear) 256px->512, real absent"
    make_image_encoder(dino / "model.onnx", size=224, dim=384, tokens=4, pool=14)
    labels["dino"] = "tiny ONNX (pool+linear) 224px->4x384, real absent"
    return root, labels


def make_inputs(root: Path, count: int) -> list[Path]:
    """``count`` photos cycling through the test portraits (real faces, 800 px)."""
    sources = sorted(FACES.glob("*.jpg"))
    paths = []
    for i in range(count):
        target = root / f"img{i}{sources[i % len(sources)].suffix}"
        target.write_bytes(sources[i % len(sources)].read_bytes())
        paths.append(target)
    return paths


def contexts(
    root: Path, name: str, inputs: list[Path], params: dict[str, object]
) -> list[JobContext]:
    out = []
    for i, path in enumerate(inputs):
        job_dir = root / name / str(i)
        job_dir.mkdir(parents=True, exist_ok=True)
        out.append(JobContext(job_id=f"{name}{i}", job_dir=job_dir, input_path=path, params=params))
    return out


def through_runner(runner: PluginRunner, ctxs: list[JobContext]) -> tuple[float, float]:
    one = timed(lambda: [runner.run(c) for c in ctxs])
    size = runner.max_batch_size

    def batched() -> None:
        for i in range(0, len(ctxs), size):
            results = runner.run_batch(ctxs[i : i + size])
            bad = [r for r in results if isinstance(r, Exception)]
            if bad:
                raise bad[0]

    return rate(len(ctxs), one), rate(len(ctxs), timed(batched))


def bench_local(work: Path, models: Path, labels: dict[str, str], inputs: list[Path]) -> list[Row]:
    rows: list[Row] = []
    n = len(inputs)
    images = [open_rgb(p) for p in inputs]  # decoded once: "direct" is the model alone

    for name, spec, label in [
        ("clip_embedding", ClipEmbeddingSpec(), labels["clip"]),
        ("dino_embedding", DinoEmbeddingSpec(), labels["dino"]),
    ]:
        runner = spec.load(models)
        assert isinstance(runner, ImageEmbeddingRunner)
        tensors = [encoder_input(img, runner.contract)[None] for img in images]
        runner.encode(tensors[0])  # warm-up
        direct = rate(n, timed(lambda r=runner, t=tensors: [r.encode(x) for x in t]))
        one, batched = through_runner(runner, contexts(work, name, inputs, {"normalize": True}))
        rows.append(Row(name, label, direct, one, batched))

    text_runner = ClipTextEmbeddingSpec().load(models)
    assert isinstance(text_runner, ClipTextRunner)
    texts = [f"a photo of person number {i} in a suit" for i in range(n)]
    tokens = [text_runner.tokenizer(t)[None] for t in texts]
    direct = rate(n, timed(lambda: [text_runner.encode(t) for t in tokens]))
    text_ctxs = [
        JobContext(f"t{i}", (work / "text" / str(i)), None, {"text": t, "normalize": True})
        for i, t in enumerate(texts)
    ]
    one, batched = through_runner(text_runner, text_ctxs)
    rows.append(Row("clip_text_embedding", labels["clip"], direct, one, batched))

    det = FaceDetectionSpec().load()
    assert isinstance(det, FaceDetectionRunner)
    direct = rate(n, timed(lambda: [det.detector.detect(img, 0.7, 0.4) for img in images]))
    one, batched = through_runner(det, contexts(work, "det", inputs, {}))
    rows.append(Row("face_detection", "dlib HOG + 5-point (real)", direct, one, batched))

    # face_embedding's usual input is face_detection's aligned 112x112 crop.
    crops = [work / "det" / str(i) / "faces" / "face_0.png" for i in range(n)]
    emb = FaceEmbeddingSpec().load()
    assert isinstance(emb, FaceEmbeddingRunner)
    chips = [emb.embedder.chip(open_rgb(c))[0] for c in crops]
    direct = rate(n, timed(lambda: [emb.embedder.embed(c[None]) for c in chips]))
    one, batched = through_runner(emb, contexts(work, "emb", crops, {"normalize": True}))
    rows.append(Row("face_embedding", "dlib ResNet v1 (real), 112px crops", direct, one, batched))
    return rows


def worker_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_service(
    work: Path, models: Path, inputs: list[Path], crops: list[Path], rows: list[Row]
) -> float:
    """Fills the service columns; returns the worker's RSS in MiB with all ML models loaded."""
    from tests.support.jobs import submit_ok, wait_for_status
    from tests.support.stack import running_stack

    tasks = [r.task for r in rows]
    n = len(inputs)
    with running_stack(work / "stack", mode="no-auth", workers=0) as stack:
        url = stack.compute_url

        def submit(task: str, i: int) -> str:
            if task == "clip_text_embedding":
                return submit_ok(url, task, None, data={"text": f"a photo number {i}"})
            if task == "face_embedding":
                return submit_ok(url, task, crops[i])
            return submit_ok(url, task, inputs[i])

        # Queued first (so the worker claims batches), then the worker starts.
        queued = {task: [submit(task, i) for i in range(n)] for task in tasks}
        worker = stack.start_worker(tasks, extra_env={"CL_MODELS_DIR": str(models)})
        stack.wait_for_workers(1)
        rss = worker_rss_mib(worker.process.pid)
        for row in rows:
            jobs = [wait_for_status(url, j, timeout=600) for j in queued[row.task]]
            assert all(j["status"] == "completed" for j in jobs), jobs
            span = max(j["completed_at"] for j in jobs) - min(j["started_at"] for j in jobs)
            row.service_queued = rate(n, span / 1000)
        for row in rows:
            start = time.perf_counter()
            for i in range(n):
                done = wait_for_status(url, submit(row.task, i), timeout=600)
                assert done["status"] == "completed", done
            row.service_one = rate(n, time.perf_counter() - start)
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--no-service", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ml-") as tmp:
        work = Path(tmp)
        models, labels = prepare_models(work / "models")
        inputs = make_inputs(work, args.images)
        rows = bench_local(work / "local", models, labels, inputs)
        crops = [
            work / "local" / "det" / str(i) / "faces" / "face_0.png" for i in range(len(inputs))
        ]
        rss = None if args.no_service else bench_service(work, models, inputs, crops, rows)

    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:8.1f}"

    print(
        f"\n{args.images} inputs per case (800-px portraits; face_embedding: their 112-px crops; "
        "clip_text: short texts); images/s"
    )
    header = (
        f"{'task':<20} {'direct':>8} {'runner':>8} {'batched':>8} {'svc 1by1':>8} "
        f"{'svc queued':>10}  model"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.task:<20} {fmt(r.direct)} {fmt(r.runner)} {fmt(r.batched)} "
            f"{fmt(r.service_one)} {fmt(r.service_queued):>10}  {r.model}"
        )
    if rss is not None:
        print(f"\nworker RSS with all five ML plugins loaded: {rss:.0f} MiB")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
