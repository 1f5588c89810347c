"""ML plugins: face detection old vs new, and images/s through the runner and the service.

In one run on one machine:
- face detection: ms/photo on ``../shared/media/faces`` for dlib's HOG scan (the old detector)
  and BlazeFace tiles + HOG check (the new one), faces found, ratio old/new of the medians
  (``bench/ml_faces.py``);
- for each ML plugin, images/s of: direct, a plain loop over the model alone (inputs decoded and
  preprocessed beforehand); runner, ``runner.run(ctx)`` per job (decode, preprocess, model, write
  .npy/.json/.png); batched, ``runner.run_batch`` with the runner's ``max_batch_size`` (each the
  median of ``--repeats`` runs); the service, jobs over HTTP to a real stack with one worker
  subprocess, submitted one by one (each waited for) and queued all at once (the worker claims
  batches; throughput from the jobs' own ``started_at``/``completed_at``); and queued/direct;
- the worker's resident memory (VmRSS) with every ML model loaded.

Models: face_detection and face_embedding run the real models the plugin loads (the table says
which detector; face_embedding 128-d is dlib's ResNet, 512-d the auraface-v1 ONNX model). CLIP
and DINO run the real ONNX weights when ``../shared/models`` (or ``CL_TEST_MODELS_DIR``) has them,
otherwise tiny generated ONNX models with the same contract (tiny-model figures measure the
pipeline's overhead, not the model).

Run: ``uv run python bench/ml.py [--images 16] [--repeats 3] [--face-runs 3] [--no-service]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ml_faces import face_detection_report  # noqa: E402
from cl_server.plugins._ml.embedding import BatchEmbeddingRunner  # noqa: E402
from cl_server.plugins._ml.images import open_rgb  # noqa: E402
from cl_server.plugins.base import JobContext, PluginRunner, PluginSpec  # noqa: E402
from cl_server.plugins.clip_embedding.spec import ClipEmbeddingSpec  # noqa: E402
from cl_server.plugins.clip_text_embedding.spec import ClipTextEmbeddingSpec  # noqa: E402
from cl_server.plugins.dino_embedding.spec import DinoEmbeddingSpec  # noqa: E402
from cl_server.plugins.face_detection.runner import FaceDetectionRunner  # noqa: E402
from cl_server.plugins.face_detection.spec import FaceDetectionSpec  # noqa: E402
from cl_server.plugins.face_embedding.spec import FaceEmbeddingSpec  # noqa: E402
from tests.unit.plugins.ml_support import (  # noqa: E402
    make_image_encoder,
    make_text_encoder,
    make_vocab,
    real_models_dir,
)

FACES = ROOT / "tests" / "data" / "faces"
Params = dict[str, object]
DETECTORS = {"FaceDetector": "dlib HOG scan", "BlazeFaceDetector": "BlazeFace tiles + HOG check"}


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


def median_rate(count: int, fn: Callable[[], object], repeats: int) -> float:
    rates: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        rates.append(rate(count, time.perf_counter() - start))
    return statistics.median(rates)


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
        labels["clip"] = "tiny ONNX (pool+linear), real absent"
    make_image_encoder(dino / "model.onnx", size=224, dim=384, tokens=4, pool=14)
    labels["dino"] = "tiny ONNX (pool+linear), real absent"
    return root, labels


def make_inputs(root: Path, count: int) -> list[Path]:
    """``count`` photos cycling through the test portraits (real faces, 800 px)."""
    sources = sorted(FACES.glob("*.jpg"))
    paths: list[Path] = []
    for i in range(count):
        target = root / f"img{i}{sources[i % len(sources)].suffix}"
        target.write_bytes(sources[i % len(sources)].read_bytes())
        paths.append(target)
    return paths


def contexts(
    root: Path, name: str, inputs: Sequence[Path | None], params: Sequence[Params]
) -> list[JobContext]:
    out: list[JobContext] = []
    for i, (path, job_params) in enumerate(zip(inputs, params, strict=True)):
        job_dir = root / name / str(i)
        job_dir.mkdir(parents=True, exist_ok=True)
        out.append(JobContext(f"{name}{i}", job_dir, path, job_params))
    return out


def through_runner(
    runner: PluginRunner, ctxs: list[JobContext], repeats: int
) -> tuple[float, float]:
    size = runner.max_batch_size

    def batched() -> None:
        for i in range(0, len(ctxs), size):
            results = runner.run_batch(ctxs[i : i + size])
            bad = [r for r in results if isinstance(r, Exception)]
            if bad:
                raise bad[0]

    one = median_rate(len(ctxs), lambda: [runner.run(c) for c in ctxs], repeats)
    return one, median_rate(len(ctxs), batched, repeats)


def embedding_row(
    spec: PluginSpec, models: Path, ctxs: list[JobContext], label: str, repeats: int
) -> Row:
    """Direct: the runner's own ``encode`` on inputs its ``prepare`` made beforehand."""
    runner = spec.load(models)
    assert isinstance(runner, BatchEmbeddingRunner)
    inputs = [runner.prepare(c)[0][None] for c in ctxs]
    dim = runner.encode(inputs[0]).shape[-1]  # also the warm-up
    direct = median_rate(len(inputs), lambda: [runner.encode(x) for x in inputs], repeats)
    one, batched = through_runner(runner, ctxs, repeats)
    return Row(spec.task_type, f"{label}, {dim}-d", direct, one, batched)


def bench_local(
    work: Path, models: Path, labels: dict[str, str], inputs: list[Path], repeats: int
) -> tuple[list[Row], list[Path]]:
    """The local rows, and the first face crop of each input (face_embedding's input)."""
    n = len(inputs)
    norm: list[Params] = [{"normalize": True}] * n
    texts: list[Params] = [
        {"text": f"a photo of person number {i} in a suit", "normalize": True} for i in range(n)
    ]

    def row(
        spec: PluginSpec, files: Sequence[Path | None], params: list[Params], label: str
    ) -> Row:
        ctxs = contexts(work, spec.task_type, files, params)
        return embedding_row(spec, models, ctxs, label, repeats)

    rows = [
        row(ClipEmbeddingSpec(), inputs, norm, labels["clip"]),
        row(DinoEmbeddingSpec(), inputs, norm, labels["dino"]),
        row(ClipTextEmbeddingSpec(), [None] * n, texts, labels["clip"]),
    ]

    det = FaceDetectionSpec().load()
    assert isinstance(det, FaceDetectionRunner)
    images = [open_rgb(p) for p in inputs]

    def detect() -> None:
        for img in images:
            det.detector.detect(img, 0.7, 0.4)

    direct = median_rate(n, detect, repeats)
    one, batched = through_runner(det, contexts(work, "det", inputs, [{}] * n), repeats)
    name = type(det.detector).__name__
    rows.append(Row("face_detection", DETECTORS.get(name, name), direct, one, batched))

    crops = [work / "det" / str(i) / "faces" / "face_0.png" for i in range(n)]
    rows.append(row(FaceEmbeddingSpec(), crops, norm, "real, 112-px crops"))
    return rows, crops


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


def print_rows(rows: list[Row], images: int, repeats: int) -> None:
    def fmt(v: float | None, width: int = 8) -> str:
        return f"{'-':>{width}}" if v is None else f"{v:{width}.1f}"

    print(
        f"\n{images} inputs per case (800-px portraits; face_embedding: their 112-px crops; "
        f"clip_text: short texts); images/s, local columns median of {repeats} runs"
    )
    header = (
        f"{'task':<20} {'direct':>8} {'runner':>8} {'batched':>8} {'svc 1by1':>8} "
        f"{'svc queued':>10} {'queued/direct':>13}  model"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        ratio = "-" if r.service_queued is None else f"{r.service_queued / r.direct:.2g}x"
        print(
            f"{r.task:<20} {fmt(r.direct)} {fmt(r.runner)} {fmt(r.batched)} "
            f"{fmt(r.service_one)} {fmt(r.service_queued, 10)} {ratio:>13}  {r.model}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="runs per local measurement")
    parser.add_argument("--face-runs", type=int, default=3, help="runs per photo, 0: skip")
    parser.add_argument("--no-service", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ml-") as tmp:
        work = Path(tmp)
        models, labels = prepare_models(work / "models")
        inputs = make_inputs(work, args.images)
        rows, crops = bench_local(work / "local", models, labels, inputs, args.repeats)
        rss = None if args.no_service else bench_service(work, models, inputs, crops, rows)
    if args.face_runs > 0:
        print()
        face_detection_report(args.face_runs)
    print_rows(rows, args.images, args.repeats)
    if rss is not None:
        print(f"\nworker RSS with all five ML plugins loaded: {rss:.0f} MiB")
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
