"""``models pull`` against a local HTTP server: verified, atomic, corrupt downloads rejected."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cl_server.models import registry
from cl_server.models.cli import models_app
from cl_server.models.pull import PullError, pull_model
from cl_server.models.registry import ModelFile, ModelInfo
from tests.support.http_server import serving

pytestmark = pytest.mark.integration

WEIGHTS = bytes(range(256)) * 4096  # 1 MiB: several progress callbacks
VOCAB = b"#version test\nc a\n"


@dataclass
class FileServer:
    """Serves ``files`` by path; ``lie_length`` announces more bytes than it sends."""

    files: dict[str, bytes]
    lie_length: set[str] = field(default_factory=set[str])
    requests: list[str] = field(default_factory=list[str])
    url: str = ""


@pytest.fixture
def server() -> Iterator[FileServer]:
    state = FileServer(files={"/weights.bin": WEIGHTS, "/vocab.txt": VOCAB})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append(self.path)
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            extra = 100 if self.path in state.lie_length else 0
            self.send_header("Content-Length", str(len(body) + extra))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    with serving(Handler) as url:
        state.url = url
        yield state


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tiny_model(base: str, weights_sha: str = sha(WEIGHTS)) -> ModelInfo:
    return ModelInfo(
        name="tiny-test",
        description="test model",
        task_types=("clip_embedding",),
        runtime="onnxruntime",
        files=(
            ModelFile("weights.bin", weights_sha, f"{base}/weights.bin"),
            ModelFile("vocab.txt", sha(VOCAB), f"{base}/vocab.txt"),
        ),
        contract="test",
    )


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_pull_downloads_verifies_and_installs(server: FileServer, tmp_path: Path) -> None:
    progress: list[tuple[str, int, int | None]] = []

    def on_progress(name: str, done: int, total: int | None) -> None:
        progress.append((name, done, total))

    result = pull_model(tiny_model(server.url), tmp_path, on_progress=on_progress)
    model_dir = tmp_path / "tiny-test"
    assert result.model_dir == model_dir
    assert (model_dir / "weights.bin").read_bytes() == WEIGHTS
    assert (model_dir / "vocab.txt").read_bytes() == VOCAB
    assert leftovers(tmp_path) == ["tiny-test"]  # no staging directory left behind
    weights = [(done, total) for name, done, total in progress if name == "weights.bin"]
    assert len(weights) > 1 and weights[-1] == (len(WEIGHTS), len(WEIGHTS))
    assert [d for d, _t in weights] == sorted(d for d, _t in weights)

    # A second pull finds both files verified and downloads nothing.
    server.requests.clear()
    again = pull_model(tiny_model(server.url), tmp_path)
    assert again.downloaded == () and set(again.already_present) == {"weights.bin", "vocab.txt"}
    assert server.requests == []


def test_corrupted_download_is_rejected_and_nothing_installed(
    server: FileServer, tmp_path: Path
) -> None:
    server.files["/weights.bin"] = WEIGHTS[:-1] + b"\x00"  # one byte differs
    with pytest.raises(PullError, match="SHA-256 mismatch"):
        pull_model(tiny_model(server.url), tmp_path)
    # vocab.txt verified, but the model is installed only when every file verified.
    assert leftovers(tmp_path) == []


def test_corrupt_installed_file_is_replaced(server: FileServer, tmp_path: Path) -> None:
    model_dir = tmp_path / "tiny-test"
    model_dir.mkdir()
    (model_dir / "weights.bin").write_bytes(b"garbage")
    pull_model(tiny_model(server.url), tmp_path)
    assert (model_dir / "weights.bin").read_bytes() == WEIGHTS


def test_failed_pull_keeps_the_previous_install(server: FileServer, tmp_path: Path) -> None:
    pull_model(tiny_model(server.url), tmp_path)
    server.files["/weights.bin"] = b"new but wrong"
    with pytest.raises(PullError):
        pull_model(tiny_model(server.url, weights_sha=sha(b"expected")), tmp_path)
    assert (tmp_path / "tiny-test" / "weights.bin").read_bytes() == WEIGHTS
    assert leftovers(tmp_path) == ["tiny-test"]


def test_truncated_download_and_missing_file_fail(server: FileServer, tmp_path: Path) -> None:
    server.lie_length.add("/weights.bin")
    with pytest.raises(PullError, match=r"download from .* failed|ended after"):
        pull_model(tiny_model(server.url), tmp_path)
    server.lie_length.clear()
    del server.files["/vocab.txt"]
    with pytest.raises(PullError, match="HTTP 404"):
        pull_model(tiny_model(server.url), tmp_path)
    assert leftovers(tmp_path) == []


def test_cli_pull_shows_progress_and_rejects_corruption(
    server: FileServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.MODELS, "tiny-test", tiny_model(server.url))
    monkeypatch.setenv("CL_SERVER_DIR", str(tmp_path / "data"))
    ok = CliRunner().invoke(models_app, ["pull", "tiny-test"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "data" / "models" / "tiny-test" / "weights.bin").read_bytes() == WEIGHTS
    assert "installed in" in ok.output

    bad = CliRunner().invoke(
        models_app,
        [
            "pull",
            "tiny-test",
            "--dest",
            str(tmp_path / "other"),
            "--sha256",
            f"weights.bin={sha(b'x')}",
        ],
    )
    assert bad.exit_code == 1
    assert "SHA-256 mismatch" in bad.output
    assert leftovers(tmp_path / "other") == []
