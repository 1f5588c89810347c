"""HTTP-facing errors of the compute service; turned into responses by one handler in app.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cl_server.errors import ClServerError

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class ApiError(ClServerError):
    status_code: int = 400

    def __init__(
        self,
        detail: str | Sequence[Mapping[str, object]],
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail if isinstance(detail, str) else "validation error")
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code
        self.headers = dict(headers or {})


class NotAuthenticatedError(ApiError):
    status_code = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers=BEARER_CHALLENGE)


class ForbiddenError(ApiError):
    status_code = 403


class NotFoundError(ApiError):
    status_code = 404


class UploadTooLargeError(ApiError):
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"Upload exceeds the limit of {limit} bytes")


class RequestValidationFailedError(ApiError):
    """422 with FastAPI's detail list shape: ``[{"loc": [...], "msg": ..., "type": ...}]``."""

    status_code = 422
