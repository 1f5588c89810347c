"""``import cl_client`` stays light: no server, web framework or ML runtime is loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN = ("cl_server", "fastapi", "uvicorn", "starlette", "numpy", "onnxruntime", "PIL")


@pytest.mark.parametrize("module", ["cl_client", "cl_client.cli.main", "cl_client.cli.admin"])
def test_fresh_import_loads_no_heavy_modules(module: str) -> None:
    code = (
        f"import json, sys, {module}\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []


def test_public_surface_exports() -> None:
    import cl_client

    expected = {
        "ComputeClient", "ComputeClientConfig", "ServerConfig", "JobResponse",
        "OnJobResponseCallback", "WorkerCapability", "WorkerCapabilitiesResponse",
        "TokenResponse", "PublicKeyResponse", "UserResponse", "UserCreateRequest",
        "UserUpdateRequest", "ComputeClientError", "JobNotFoundError", "JobFailedError",
        "AuthenticationError", "PermissionError", "WorkerUnavailableError", "AuthProvider",
        "NoAuthProvider", "JWTAuthProvider", "get_default_auth", "SessionManager",
        "MQTTJobMonitor",
    }  # fmt: skip
    assert expected <= set(cl_client.__all__)
    for name in expected:
        assert getattr(cl_client, name) is not None
    import cl_client.auth
    import cl_client.auth_client
    import cl_client.auth_models
    import cl_client.config
    import cl_client.exceptions
    import cl_client.models
    import cl_client.mqtt_monitor
    import cl_client.plugins.hash
    import cl_client.server_config
    import cl_client.session_manager

    assert cl_client.auth_client.AuthClient is not None
    assert cl_client.plugins.hash.HashClient is not None
