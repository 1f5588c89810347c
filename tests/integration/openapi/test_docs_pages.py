"""``/docs`` and ``/redoc`` of both services load nothing from outside the service."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cl_server.openapi.docs import REDOC_BUNDLE, REDOC_CDN_LOGO, REDOC_JS_URL

pytestmark = pytest.mark.integration

ABSOLUTE_URL = re.compile(r"(?:https?:)?//[\w.-]+", re.IGNORECASE)
REFERENCED = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.mark.parametrize("service", ["compute", "auth"])
@pytest.mark.parametrize("page_path", ["/docs", "/redoc"])
def test_page_references_only_its_own_service(
    service: str, page_path: str, request: pytest.FixtureRequest
) -> None:
    app: FastAPI = request.getfixturevalue(f"{service}_app")
    client = TestClient(app)  # no lifespan: the pages and their assets need no services
    response = client.get(page_path)
    assert response.status_code == 200
    html = response.text
    assert ABSOLUTE_URL.findall(html) == [], "the page must not reference another host"
    referenced = [a or b for a, b in REFERENCED.findall(html)]
    assert "/openapi.json" in referenced
    assert any(url.endswith("favicon.png") for url in referenced)
    for url in referenced:
        assert url.startswith("/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


def test_served_redoc_bundle_has_no_cdn_reference(compute_app: FastAPI) -> None:
    # The one CDN fetch of the upstream bundle (the sidebar logo) is replaced when served.
    assert REDOC_CDN_LOGO.encode() in REDOC_BUNDLE.read_bytes()
    served = TestClient(compute_app).get(REDOC_JS_URL)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    assert REDOC_CDN_LOGO.encode() not in served.content
    assert len(served.content) > 100_000
