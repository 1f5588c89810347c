"""A local HTTP server answering like the Hugging Face hub's file API, for download tests.

Point ``HF_ENDPOINT`` at ``Hub.url``; only ``HEAD``/``GET /{repo}/resolve/{revision}/{path}``
are answered (what ``hf_hub_download`` uses), with the headers huggingface_hub reads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.support.http_server import serving

COMMIT = "a" * 40


@dataclass
class Hub:
    """``files`` maps ``/{repo}/resolve/{revision}/{path}`` to bytes; ``status`` forces errors."""

    files: dict[str, bytes]
    status: dict[str, int] = field(default_factory=dict[str, int])
    truncate: set[str] = field(default_factory=set[str])
    gets: list[str] = field(default_factory=list[str])
    url: str = ""
    commit: str = COMMIT
    """A new commit makes huggingface_hub fetch again instead of using its cached snapshot."""


@contextmanager
def serving_hub() -> Generator[Hub]:
    """Run a fake hub until the block ends; add files to ``hub.files`` at any time."""
    state = Hub(files={})

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _head(self) -> bytes | None:
            path = self.path.split("?")[0]
            code = state.status.get(path)
            body = state.files.get(path)
            if code is not None or body is None:
                self.send_response(code or 404)
                self.send_header("Content-Length", "0")
                if (code or 404) == 404:
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("X-Repo-Commit", state.commit)
                self.end_headers()
                return None
            self.send_response(200)
            self.send_header("X-Repo-Commit", state.commit)
            self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return body

        def do_HEAD(self) -> None:
            self._head()

        def do_GET(self) -> None:
            state.gets.append(self.path)
            body = self._head()
            if body is not None:
                path = self.path.split("?")[0]
                self.wfile.write(body[: len(body) // 2] if path in state.truncate else body)
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean

    with serving(Handler) as url:
        state.url = url
        yield state


def hub_env(hub: Hub, cache_dir: str) -> dict[str, str]:
    """Environment for a subprocess that should download from ``hub`` (not the real one)."""
    return {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": cache_dir, "HF_HUB_DISABLE_XET": "1"}
