"""The exif runner and spec as the worker and compute service use them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from cl_server.errors import PluginError
from cl_server.plugins.base import JobContext
from cl_server.plugins.exif.runner import ExifRunner
from cl_server.plugins.exif.spec import ExifParams, ExifSpec, parse_tags
from cl_server.plugins.registry import get_spec
from tests.unit.plugins.hash_exif_media import make_heic, make_png, make_rich_exif_jpeg


def _context(tmp_path: Path, source: Path, tags: object) -> JobContext:
    job_dir = tmp_path / "job"
    (job_dir / "input").mkdir(parents=True)
    input_path = job_dir / "input" / source.name
    source.rename(input_path)
    params = {
        "tags": tags,
        "input_path": f"input/{source.name}",
        "output_path": "output/exif_metadata.json",
    }
    return JobContext(job_id="job-1", job_dir=job_dir, input_path=input_path, params=params)


def test_runner_writes_the_task_output_to_the_file(tmp_path: Path) -> None:
    ctx = _context(tmp_path, make_rich_exif_jpeg(tmp_path / "photo.jpg"), [])
    task_output = ExifRunner().run(ctx)
    written = json.loads((ctx.job_dir / "output" / "exif_metadata.json").read_text())
    assert written == task_output
    assert task_output["make"] == "Canon"
    assert task_output["orientation"] == 6
    assert len(task_output["raw_metadata"]) > 10


@pytest.mark.parametrize("tags", [["Make", "Model"], "Make, Model"])
def test_runner_accepts_stored_list_or_form_string(tmp_path: Path, tags: object) -> None:
    ctx = _context(tmp_path, make_rich_exif_jpeg(tmp_path / "photo.jpg"), tags)
    raw = ExifRunner().run(ctx)["raw_metadata"]
    assert raw == {"Image Make": "Canon", "Image Model": "EOS 5D Mark IV"}


def test_runner_on_png_without_exif(tmp_path: Path) -> None:
    ctx = _context(tmp_path, make_png(tmp_path / "plain.png", size=(40, 30)), [])
    task_output = ExifRunner().run(ctx)
    assert task_output["raw_metadata"] == {}
    assert task_output["make"] is None
    assert (task_output["image_width"], task_output["image_height"]) == (40, 30)


def test_runner_fails_readably_on_text(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello\n")
    ctx = _context(tmp_path, source, [])
    with pytest.raises(PluginError, match=r"^not a readable image: "):
        ExifRunner().run(ctx)
    assert not (ctx.job_dir / "output" / "exif_metadata.json").exists()


def test_tags_are_stored_as_a_list() -> None:
    spec = ExifSpec()
    assert spec.stored_params(ExifParams()) == {"tags": []}
    params = ExifParams.model_validate({"tags": " Make, ,Model ,Make,EXIF FNumber"})
    assert spec.stored_params(params) == {"tags": ["Make", "Model", "EXIF FNumber"]}
    assert parse_tags(["a", " b ", ""]) == ["a", "b"]


def test_tags_are_bounded() -> None:
    with pytest.raises(ValidationError):
        ExifParams.model_validate({"tags": ",".join(f"t{i}" for i in range(300))})
    with pytest.raises(ValidationError):
        ExifParams.model_validate({"tags": "x" * 200})


def test_spec_contract() -> None:
    spec = get_spec("exif")
    assert isinstance(spec, ExifSpec)
    assert spec.output_path(ExifParams(), "photo.jpg") == "output/exif_metadata.json"
    assert spec.requires_file
    runner = spec.load()
    assert isinstance(runner, ExifRunner)
    assert runner.max_batch_size == 1


def test_specs_import_no_heavy_modules() -> None:
    # The compute service imports every spec; media libraries must load only in the worker.
    code = (
        "import sys, cl_server.plugins.hash.spec, cl_server.plugins.exif.spec; "
        "heavy = {'PIL', 'av', 'exifread', 'puremagic', 'numpy'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_heic_metadata(tmp_path: Path) -> None:
    runner = ExifRunner()  # registers the HEIF decoder, as in the worker
    ctx = _context(tmp_path, make_heic(tmp_path / "photo.heic", size=(64, 48)), [])
    task_output = runner.run(ctx)
    assert (task_output["make"], task_output["model"]) == ("Apple", "iPhone 15")
    assert (task_output["image_width"], task_output["image_height"]) == (64, 48)
