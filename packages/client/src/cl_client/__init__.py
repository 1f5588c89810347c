"""cl_client: typed async SDK for CL Server (PROTOCOL.md §7).

Quick start::

    import asyncio
    from pathlib import Path
    from cl_client import ComputeClient

    async def main() -> None:
        async with ComputeClient("http://localhost:8002") as client:
            job = await client.hash.compute(Path("photo.jpg"), wait=True, timeout=30)
            print(job.status, job.task_output)

    asyncio.run(main())
"""

from cl_client.auth import AuthProvider, JWTAuthProvider, NoAuthProvider, get_default_auth
from cl_client.auth_models import (
    PublicKeyResponse,
    TokenResponse,
    UserCreateRequest,
    UserResponse,
    UserUpdateRequest,
)
from cl_client.batch import BatchItem, BatchProgress
from cl_client.compute_client import ComputeClient
from cl_client.config import ComputeClientConfig
from cl_client.exceptions import (
    AuthenticationError,
    ComputeClientError,
    ForbiddenError,
    InvalidRequestError,
    JobFailedError,
    JobNotFoundError,
    JobNotFoundHTTPError,
    JobTimeoutError,
    NotFoundError,
    PermissionError,
    ServerHTTPError,
    ServerUnreachableError,
    UnauthorizedError,
    WorkerUnavailableError,
)
from cl_client.models import (
    JobListResponse,
    JobResponse,
    OnJobResponseCallback,
    WorkerCapabilitiesResponse,
    WorkerCapability,
    WorkerInfo,
    WorkersResponse,
)
from cl_client.mqtt_monitor import MQTTJobMonitor
from cl_client.server_config import ServerConfig
from cl_client.session_manager import SessionManager

__version__ = "0.1.0"

__all__ = [
    "AuthProvider",
    "AuthenticationError",
    "BatchItem",
    "BatchProgress",
    "ComputeClient",
    "ComputeClientConfig",
    "ComputeClientError",
    "ForbiddenError",
    "InvalidRequestError",
    "JWTAuthProvider",
    "JobFailedError",
    "JobListResponse",
    "JobNotFoundError",
    "JobNotFoundHTTPError",
    "JobResponse",
    "JobTimeoutError",
    "MQTTJobMonitor",
    "NoAuthProvider",
    "NotFoundError",
    "OnJobResponseCallback",
    "PermissionError",
    "PublicKeyResponse",
    "ServerConfig",
    "ServerHTTPError",
    "ServerUnreachableError",
    "SessionManager",
    "TokenResponse",
    "UnauthorizedError",
    "UserCreateRequest",
    "UserResponse",
    "UserUpdateRequest",
    "WorkerCapabilitiesResponse",
    "WorkerCapability",
    "WorkerInfo",
    "WorkerUnavailableError",
    "WorkersResponse",
    "get_default_auth",
]
