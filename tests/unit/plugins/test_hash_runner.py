"""The hash runner and spec as the worker and compute service use them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError

from cl_server.errors import PluginError
from cl_server.plugins.base import JobContext
from cl_server.plugins.hash.runner import HashRunner
from cl_server.plugins.hash.spec import HashParams, HashSpec
from cl_server.plugins.registry import get_spec
from tests.unit.plugins.hash_exif_media import make_heic, make_rich_exif_jpeg, make_truncated_jpeg


def _context(tmp_path: Path, source: Path, params: dict[str, object]) -> JobContext:
    job_dir = tmp_path / "job"
    (job_dir / "input").mkdir(parents=True)
    input_path = job_dir / "input" / source.name
    source.rename(input_path)
    stored = {**params, "input_path": f"input/{source.name}", "output_path": "output/hash.json"}
    return JobContext(job_id="job-1", job_dir=job_dir, input_path=input_path, params=stored)


def test_runner_writes_hash_json_and_returns_media_type(tmp_path: Path) -> None:
    ctx = _context(tmp_path, make_rich_exif_jpeg(tmp_path / "photo.jpg"), {"algorithm": "md5"})
    assert ctx.input_path is not None
    expected = hashlib.md5(ctx.input_path.read_bytes()).hexdigest()

    task_output = HashRunner().run(ctx)

    assert task_output == {"media_type": "image"}
    written = json.loads((ctx.job_dir / "output" / "hash.json").read_text())
    assert set(written) == {"hash_value", "algorithm", "media_type", "process_time"}
    assert written["hash_value"] == expected
    assert (written["algorithm"], written["media_type"]) == ("md5", "image")
    assert isinstance(written["process_time"], float)
    assert written["process_time"] >= 0


def test_runner_defaults_to_sha512(tmp_path: Path) -> None:
    source = tmp_path / "note.txt"
    source.write_text("https://example.com/x\n")
    ctx = _context(tmp_path, source, {})
    assert HashRunner().run(ctx) == {"media_type": "url"}
    written = json.loads((ctx.job_dir / "output" / "hash.json").read_text())
    assert written["algorithm"] == "sha512_generic"
    assert written["hash_value"] == hashlib.sha512(b"https://example.com/x\n").hexdigest()


def test_runner_reports_progress_within_bounds(tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * (40 * 1024))  # 10 MiB: several chunks
    reported: list[int] = []
    ctx = _context(tmp_path, source, {"algorithm": "sha512"})
    ctx = JobContext(
        job_id=ctx.job_id,
        job_dir=ctx.job_dir,
        input_path=ctx.input_path,
        params=ctx.params,
        report_progress=reported.append,
    )
    assert HashRunner().run(ctx) == {"media_type": "file"}
    assert reported
    assert all(1 <= p <= 99 for p in reported)
    assert reported == sorted(reported)


def test_runner_fails_readably_on_a_truncated_image(tmp_path: Path) -> None:
    ctx = _context(tmp_path, make_truncated_jpeg(tmp_path / "cut.jpg"), {"algorithm": "sha512"})
    with pytest.raises(PluginError, match="not a readable image"):
        HashRunner().run(ctx)
    assert not (ctx.job_dir / "output" / "hash.json").exists()


@pytest.mark.parametrize(
    ("form_value", "expected"),
    [("sha512", "sha512"), ("md5", "md5"), ("MD5", "md5"), (" Sha512 ", "sha512"), ("", "sha512")],
)
def test_params_accept_form_values(form_value: str, expected: str) -> None:
    assert HashParams.model_validate({"algorithm": form_value}).algorithm == expected


@pytest.mark.parametrize("bad", ["sha1", "sha256", "md4", "512"])
def test_params_reject_unknown_algorithms(bad: str) -> None:
    with pytest.raises(ValidationError):
        HashParams.model_validate({"algorithm": bad})


def test_spec_contract() -> None:
    spec = get_spec("hash")
    assert isinstance(spec, HashSpec)
    params = HashParams()
    assert spec.output_path(params, "photo.jpg") == "output/hash.json"
    assert spec.stored_params(params) == {"algorithm": "sha512"}
    assert spec.requires_file
    runner = spec.load()
    assert isinstance(runner, HashRunner)
    assert runner.max_batch_size == 1


def test_heic_gets_the_pixel_hash(tmp_path: Path) -> None:
    runner = HashRunner()  # registers the HEIF decoder, as in the worker
    ctx = _context(tmp_path, make_heic(tmp_path / "photo.heic"), {"algorithm": "sha512"})
    assert ctx.input_path is not None
    with Image.open(ctx.input_path) as image:
        expected = hashlib.sha512(image.tobytes()).hexdigest()
    assert runner.run(ctx) == {"media_type": "image"}
    written = json.loads((ctx.job_dir / "output" / "hash.json").read_text())
    assert (written["algorithm"], written["hash_value"]) == ("sha512_image", expected)
