"""The dashboard's server side: the login relay to the auth service, and the page's assets."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from cl_server.broker import EmbeddedBroker
from cl_server.compute.app import create_app
from cl_server.settings import ComputeSettings
from cl_server.ui.routes import STATIC_DIR
from tests.support.stack import Stack, running_stack
from tests.support.uvicorn_thread import serve_app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("ui-login"), mode="enforced", workers=0) as running:
        yield running


def test_the_page_needs_no_login_and_loads_only_its_own_assets(stack: Stack) -> None:
    # The page is public (it shows the login form); every API call it makes is checked.
    redirect = httpx.get(f"{stack.compute_url}/ui", follow_redirects=False)
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "ui/"  # relative: works under a path prefix
    page = httpx.get(f"{stack.compute_url}/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(f"{stack.compute_url}/ui/static/js/main.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]  # ES modules need a JS type


def test_login_relays_to_the_auth_service(stack: Stack) -> None:
    url = f"{stack.compute_url}/ui/login"
    good = httpx.post(url, data={"username": "admin", "password": stack.admin_password})
    assert good.status_code == 200, good.text
    token = good.json()["access_token"]
    jobs = httpx.get(f"{stack.compute_url}/jobs", headers={"Authorization": f"Bearer {token}"})
    assert jobs.status_code == 200

    bad = httpx.post(url, data={"username": "admin", "password": "nope"})
    assert bad.status_code == 401
    assert bad.json() == {"detail": "Incorrect username or password"}
    assert httpx.post(url, data={"username": "admin"}).status_code == 422


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_login_says_when_the_auth_service_is_unreachable(tmp_path: Path) -> None:
    broker = EmbeddedBroker("127.0.0.1", 0)
    broker.start()
    try:
        dead_auth = f"http://127.0.0.1:{free_port()}"
        settings = ComputeSettings(
            data_dir=tmp_path,
            mqtt_host=broker.host,
            mqtt_port=broker.port,
            mqtt_username=broker.credentials.username,  # the broker's service account
            mqtt_password=SecretStr(broker.credentials.password),
            auth_url=dead_auth,
        )
        with serve_app(create_app(settings)) as url:
            response = httpx.post(f"{url}/ui/login", data={"username": "a", "password": "b"})
    finally:
        broker.stop()
    assert response.status_code == 502
    assert dead_auth in response.json()["detail"]


def test_every_asset_the_page_loads_ships_in_the_package(stack: Stack) -> None:
    page = (STATIC_DIR / "index.html").read_text()
    referenced = re.findall(r'(?:src|href)="static/([^"]+)"', page)
    for script in (STATIC_DIR / "js").glob("*.js"):
        imports = re.findall(r'from "\./([^"]+)"', script.read_text())
        referenced += [f"js/{name}" for name in imports]
    assert "js/main.js" in referenced and "style.css" in referenced
    for asset in sorted(set(referenced)):
        response = httpx.get(f"{stack.compute_url}/ui/static/{asset}")
        assert response.status_code == 200, asset
