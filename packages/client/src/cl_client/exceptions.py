"""Exceptions of the SDK (PROTOCOL.md §7.10), all rooted in :class:`ComputeClientError`.

PROTOCOL §7.3 requires HTTP error statuses to stay ``httpx.HTTPStatusError`` (callers read
``.response.status_code``). The SDK therefore raises subclasses that are *both* an
``httpx.HTTPStatusError`` and a :class:`ComputeClientError`, so either ``except`` clause works:

=====================  ==========================================  ==========================
HTTP status            raised class                                 also an instance of
=====================  ==========================================  ==========================
401                    :class:`UnauthorizedError`                   :class:`AuthenticationError`
403                    :class:`ForbiddenError`                      :class:`PermissionError`
404 on a job URL       :class:`JobNotFoundHTTPError`                :class:`JobNotFoundError`
404 elsewhere          :class:`NotFoundError`
400 / 409 / 422        :class:`InvalidRequestError`
any other non-2xx      :class:`ServerHTTPError`
=====================  ==========================================  ==========================

Connection failures raise :class:`ServerUnreachableError` (an ``httpx.ConnectError``), and
``wait_for_job`` timeouts raise :class:`JobTimeoutError` (a built-in ``TimeoutError``).
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from cl_client.models import JobResponse


class ComputeClientError(Exception):
    """Root of every exception the SDK defines."""


class JobNotFoundError(ComputeClientError):
    """The job does not exist (HTTP 404 on a job URL)."""

    def __init__(self, job_id: str) -> None:
        self.job_id: str = job_id
        super().__init__(f"Job {job_id} not found")


class JobFailedError(ComputeClientError):
    """A job ended with status ``failed`` (or ``error``); raised by helpers that demand success."""

    def __init__(self, job: JobResponse) -> None:
        self.job: JobResponse = job
        reason = job.error_message or "no error message"
        super().__init__(f"Job {job.job_id} ({job.task_type}) {job.status}: {reason}")


class AuthenticationError(ComputeClientError):
    """Missing, wrong or expired credentials (HTTP 401)."""


class PermissionError(ComputeClientError):
    """The caller is authenticated but not allowed (HTTP 403)."""


class WorkerUnavailableError(ComputeClientError):
    """No worker offered a task type within the wait limit."""

    def __init__(self, task_type: str, available_capabilities: dict[str, int]) -> None:
        self.task_type: str = task_type
        self.available_capabilities: dict[str, int] = dict(available_capabilities)
        if available_capabilities:
            offered = ", ".join(f"{k}={v}" for k, v in sorted(available_capabilities.items()))
        else:
            offered = "none"
        super().__init__(
            f"No idle worker offers task type {task_type!r}; idle workers per task: {offered}"
        )


class JobTimeoutError(ComputeClientError, builtins.TimeoutError):
    """``wait_for_job`` gave up; still a built-in ``TimeoutError`` as §7.3 requires."""

    def __init__(
        self,
        job_id: str,
        timeout: float,
        last_status: str | None = None,
        waiting_reason: str | None = None,
    ) -> None:
        self.job_id: str = job_id
        self.timeout: float = timeout
        self.last_status: str | None = last_status
        self.waiting_reason: str | None = waiting_reason
        """The server's word on why the job was still queued (no worker serves it), if any."""
        tail = f" (last status: {last_status})" if last_status else ""
        why = f": {waiting_reason}" if waiting_reason else ""
        super().__init__(f"Job {job_id} timeout: not finished after {timeout:g} s{tail}{why}")


class ServerUnreachableError(httpx.ConnectError, ComputeClientError):
    """No TCP connection to a service could be made (wrong URL, service down)."""

    def __init__(self, url: str, cause: str, *, request: httpx.Request | None = None) -> None:
        self.url: str = url
        super().__init__(f"Cannot reach {url}: {cause}", request=request)

    @classmethod
    def from_connect_error(cls, url: str, exc: httpx.ConnectError) -> ServerUnreachableError:
        """Wrap httpx's connection failure for the service at ``url`` (keeps its request)."""
        try:
            request: httpx.Request | None = exc.request
        except RuntimeError:  # httpx raises when the error carries no request
            request = None
        return cls(url, str(exc) or type(exc).__name__, request=request)


class ServerHTTPError(httpx.HTTPStatusError, ComputeClientError):
    """A non-2xx response; ``.response.status_code`` and ``.detail`` tell what went wrong."""

    def __init__(self, message: str, *, request: httpx.Request, response: httpx.Response) -> None:
        super().__init__(message, request=request, response=response)

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def detail(self) -> str:
        return response_detail(self.response)


class InvalidRequestError(ServerHTTPError):
    """The server rejected the request's content (HTTP 400, 409 or 422)."""


class NotFoundError(ServerHTTPError):
    """HTTP 404 for something other than a job."""


class UnauthorizedError(ServerHTTPError, AuthenticationError):
    """HTTP 401: log in, or refresh the token."""


class ForbiddenError(ServerHTTPError, PermissionError):
    """HTTP 403: the account lacks the permission."""


class JobNotFoundHTTPError(NotFoundError, JobNotFoundError):
    """HTTP 404 on a job URL (also a :class:`JobNotFoundError` carrying ``job_id``)."""

    def __init__(
        self, job_id: str, message: str, *, request: httpx.Request, response: httpx.Response
    ) -> None:
        # Not super().__init__: httpx's cooperative __init__ chain would reach
        # JobNotFoundError.__init__ with the message as job id. Set what both bases define.
        Exception.__init__(self, message)
        self.request = request
        self.response = response
        self.job_id = job_id


def response_detail(response: httpx.Response) -> str:
    """The human-readable part of an error body (``{"detail": ...}``), else the raw text."""
    try:
        body: object = response.json()
    except ValueError:
        return response.text.strip()
    if isinstance(body, dict) and "detail" in body:
        detail: object = body["detail"]  # pyright: ignore[reportUnknownVariableType]
        if isinstance(detail, list):  # 422 validation errors: join their messages
            parts: list[str] = []
            for item in detail:  # pyright: ignore[reportUnknownVariableType]
                if isinstance(item, dict):
                    loc = item.get("loc", [])  # pyright: ignore[reportUnknownMemberType]
                    where = ".".join(str(p) for p in loc) if isinstance(loc, list) else str(loc)
                    parts.append(f"{where}: {item.get('msg', '')}")  # pyright: ignore[reportUnknownMemberType]
                else:
                    parts.append(str(item))
            return "; ".join(parts)
        return str(detail)
    return response.text.strip()


def raise_for_status(response: httpx.Response, *, job_id: str | None = None) -> None:
    """Raise the typed ``httpx.HTTPStatusError`` subclass for a non-2xx response."""
    if response.is_success:
        return
    request = response.request
    detail = response_detail(response)
    message = (
        f"{response.status_code} {response.reason_phrase} for {request.method} {request.url}"
        + (f": {detail}" if detail else "")
    )
    status = response.status_code
    if status == 401:
        raise UnauthorizedError(message, request=request, response=response)
    if status == 403:
        raise ForbiddenError(message, request=request, response=response)
    if status == 404:
        if job_id is not None:
            raise JobNotFoundHTTPError(job_id, message, request=request, response=response)
        raise NotFoundError(message, request=request, response=response)
    if status in (400, 409, 422):
        raise InvalidRequestError(message, request=request, response=response)
    raise ServerHTTPError(message, request=request, response=response)
