"""Fixtures of the OpenAPI tests: both services' apps, their documents, a served compute app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from cl_server.auth.app import create_app as create_auth_app
from cl_server.compute.app import create_app as create_compute_app
from cl_server.settings import AuthSettings, ComputeSettings

# The Chromium fixtures of the browser tests (tests/browser/conftest.py), shared, not copied;
# the redundant aliases mark them as re-exported for pytest.
from tests.browser.conftest import browser as browser
from tests.browser.conftest import page as page
from tests.support.uvicorn_thread import serve_app

UPLOAD_LIMIT = 64 * 1024
"""Small, so a test can provoke the 413 cheaply."""


def compute_settings(data_dir: Path) -> ComputeSettings:
    # Port 1: no broker and no auth service; the service starts and serves HTTP without them.
    return ComputeSettings(
        data_dir=data_dir,
        mqtt_port=1,
        auth_url="http://127.0.0.1:1",
        max_upload_bytes=UPLOAD_LIMIT,
    )


@pytest.fixture(scope="module")
def compute_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_compute_app(compute_settings(tmp_path_factory.mktemp("compute")))


@pytest.fixture(scope="module")
def auth_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_auth_app(AuthSettings(data_dir=tmp_path_factory.mktemp("auth")))


@pytest.fixture(scope="module")
def compute_doc(compute_app: FastAPI) -> dict[str, Any]:
    return compute_app.openapi()


@pytest.fixture(scope="module")
def auth_doc(auth_app: FastAPI) -> dict[str, Any]:
    return auth_app.openapi()


@pytest.fixture(scope="module")
def compute_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A compute service under uvicorn (guest mode, as on a fresh install)."""
    app = create_compute_app(compute_settings(tmp_path_factory.mktemp("served")))
    with serve_app(app) as url:
        yield url
