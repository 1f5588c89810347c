"""In-memory fakes for SDK unit tests: a compute and an auth service behind httpx.MockTransport.

No sockets: every request is answered by Python code that records what it received.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx

from cl_client.compute_client import ComputeClient
from cl_client.mqtt_monitor import MQTTJobMonitor


def make_jwt(exp: float | None, **claims: object) -> str:
    """An unsigned JWT-shaped token whose payload carries ``exp`` (the client never verifies)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload: dict[str, object] = dict(claims)
    if exp is not None:
        payload["exp"] = int(exp)
    header = b64(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}.{b64(b'sig')}"


def parse_multipart(request: httpx.Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Form fields and files of a multipart (or urlencoded) request."""
    content_type = request.headers.get("content-type", "")
    body = request.read()
    if content_type.startswith("application/x-www-form-urlencoded"):
        parsed = parse_qs(body.decode(), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}, {}
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(payload, bytes)
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode()
    return fields, files


@dataclass
class FakeJob:
    job_id: str
    task_type: str
    params: dict[str, Any]
    #: States returned by successive GETs; the last one repeats.
    script: list[dict[str, Any]]
    gets: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    created_at: int = 1_700_000_000_000
    created_by: str | None = None

    def state(self) -> dict[str, Any]:
        index = min(self.gets, len(self.script) - 1)
        self.gets += 1
        return self.script[index]

    def last_state(self) -> dict[str, Any]:
        """The state the last GET returned (the first one before any), without advancing."""
        return self.script[min(max(self.gets - 1, 0), len(self.script) - 1)]

    def become(self, state: dict[str, Any]) -> None:
        """From now on every GET returns ``state`` (cancel and retry do this)."""
        self.script = [state]
        self.gets = 0


def job_body(job: FakeJob, state: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": job.job_id,
        "task_type": job.task_type,
        "status": "queued",
        "progress": 0,
        "params": job.params,
        "task_output": None,
        "error_message": None,
        "priority": 5,
        "created_at": job.created_at,
        "created_by": job.created_by,
        "updated_at": None,
        "started_at": None,
        "completed_at": None,
        "unexpected_new_field": "ignored by clients",
    }
    body.update(state)
    return body


COMPLETED = {"status": "completed", "progress": 100, "task_output": {"media_type": "image"}}
TERMINAL = ("completed", "failed", "error", "cancelled")


class FakeComputeServer:
    """Routes of the compute service that the SDK uses, with scripted job lifecycles."""

    def __init__(self) -> None:
        self.jobs: dict[str, FakeJob] = {}
        self.requests: list[httpx.Request] = []
        self.submissions: list[tuple[str, dict[str, str], dict[str, tuple[str, bytes]]]] = []
        self.capabilities: dict[str, Any] = {"num_workers": 1, "capabilities": {"hash": 1}}
        self.guest_mode: bool = True
        #: Default script for new jobs (override per test).
        self.script: list[dict[str, Any]] = [
            {"status": "queued"},
            {"status": "processing", "progress": 50},
            COMPLETED,
        ]
        #: Files every new job gets (job-relative path -> bytes).
        self.job_files: dict[str, bytes] = {}
        #: Status code forced for submissions (e.g. 422), or None.
        self.reject_submissions: tuple[int, Any] | None = None
        self.on_submit: Callable[[FakeJob], None] | None = None
        #: Bodies of ``GET /workers`` entries.
        self.workers: list[dict[str, Any]] = []
        #: Query parameters of each ``GET /jobs`` (multi-valued).
        self.list_queries: list[dict[str, list[str]]] = []
        #: Called with each request before it is answered (e.g. to simulate Ctrl-C).
        self.on_request: Callable[[httpx.Request], None] | None = None
        #: When set, every request fails as if nothing listened on the port.
        self.down: bool = False

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def add_job(
        self, task_type: str = "hash", script: list[dict[str, Any]] | None = None
    ) -> FakeJob:
        job_id = str(uuid.uuid4())
        params = {"input_path": "input/x.jpg", "output_path": _output_path(task_type)}
        job = FakeJob(
            job_id, task_type, params, list(script or self.script), files=dict(self.job_files)
        )
        self.jobs[job_id] = job
        return job

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)
        if self.down:
            raise httpx.ConnectError("All connection attempts failed", request=request)
        path = unquote(request.url.path)
        parts = [p for p in path.split("/") if p]
        method = request.method
        if path == "/" and method == "GET":
            return httpx.Response(
                200,
                json={
                    "status": "healthy",
                    "service": "compute",
                    "version": "v1",
                    "guestMode": "on" if self.guest_mode else "off",
                    "auth_required": not self.guest_mode,
                },
            )
        if path == "/capabilities":
            return httpx.Response(200, json=self.capabilities)
        if path == "/workers" and method == "GET":
            return httpx.Response(200, json={"workers": self.workers})
        if parts[:1] == ["admin"]:
            return self._admin(request, parts)
        if parts == ["jobs"] and method == "GET":
            return self._list(request)
        if parts[:1] == ["jobs"] and len(parts) >= 2:
            if method == "POST" and len(parts) == 2:
                return self._submit(request, parts[1])
            job = self.jobs.get(parts[1])
            if job is None:
                return httpx.Response(404, json={"detail": f"Job {parts[1]} not found"})
            if len(parts) == 3 and method == "POST" and parts[2] in ("cancel", "retry"):
                return self._cancel(job) if parts[2] == "cancel" else self._retry(job)
            if len(parts) == 2 and method == "GET":
                return httpx.Response(200, json=job_body(job, job.state()))
            if len(parts) == 2 and method == "DELETE":
                del self.jobs[job.job_id]
                return httpx.Response(204)
            if len(parts) >= 4 and parts[2] == "files" and method == "GET":
                file_path = "/".join(parts[3:])
                if ".." in parts:
                    return httpx.Response(
                        403, json={"detail": "Access denied: path traversal detected"}
                    )
                data = job.files.get(file_path)
                if data is None:
                    return httpx.Response(404, json={"detail": f"File not found: {file_path}"})
                return httpx.Response(200, content=data)
        return httpx.Response(405, json={"detail": "Method Not Allowed"})

    def _list(self, request: httpx.Request) -> httpx.Response:
        """``GET /jobs``: filters, newest first, an offset as the opaque cursor."""
        query = {key: request.url.params.get_list(key) for key in request.url.params}
        self.list_queries.append(query)
        limit = int(query.get("limit", ["100"])[0])
        if not 1 <= limit <= 500:
            return httpx.Response(422, json={"detail": [{"loc": ["query", "limit"], "msg": "bad"}]})
        rows = [(job, job_body(job, job.last_state())) for job in self.jobs.values()]
        statuses = query.get("status")
        after = int(query["created_after"][0]) if "created_after" in query else None
        before = int(query["created_before"][0]) if "created_before" in query else None
        selected = [
            body
            for job, body in reversed(rows)  # newest first; ties: the later-added first
            if (not statuses or body["status"] in statuses)
            and body["task_type"] == query.get("task_type", [body["task_type"]])[0]
            and (job.created_by == query["created_by"][0] if "created_by" in query else True)
            and (after is None or job.created_at >= after)
            and (before is None or job.created_at < before)
        ]
        selected.sort(key=lambda body: -body["created_at"])
        offset = int(query.get("cursor", ["o0"])[0].removeprefix("o"))
        page = selected[offset : offset + limit]
        more = offset + limit < len(selected)
        return httpx.Response(
            200, json={"jobs": page, "next_cursor": f"o{offset + limit}" if more else None}
        )

    def _cancel(self, job: FakeJob) -> httpx.Response:
        current = job.last_state()
        if current["status"] in TERMINAL:
            return httpx.Response(
                409, json={"detail": f"Job {job.job_id} is already {current['status']}"}
            )
        job.become({**current, "status": "cancelled", "completed_at": 1_700_000_009_000})
        return httpx.Response(200, json=job_body(job, job.last_state()))

    def _retry(self, job: FakeJob) -> httpx.Response:
        current = job.last_state()
        if current["status"] not in ("failed", "cancelled"):
            return httpx.Response(
                409,
                json={
                    "detail": f"Job {job.job_id} is {current['status']}; only failed or "
                    "cancelled jobs can be retried"
                },
            )
        job.become({"status": "queued", "progress": 0})
        return httpx.Response(200, json=job_body(job, job.last_state()))

    def _submit(self, request: httpx.Request, task_type: str) -> httpx.Response:
        fields, files = parse_multipart(request)
        self.submissions.append((task_type, fields, files))
        if self.reject_submissions is not None:
            status, detail = self.reject_submissions
            return httpx.Response(status, json={"detail": detail})
        job = self.add_job(task_type)
        job.params.update(fields)
        if self.on_submit is not None:
            self.on_submit(job)
        return httpx.Response(
            200, json={"job_id": job.job_id, "status": "queued", "task_type": task_type}
        )

    def _admin(self, request: httpx.Request, parts: list[str]) -> httpx.Response:
        if parts == ["admin", "config", "guest-mode"] and request.method == "PUT":
            fields, _ = parse_multipart(request)
            self.guest_mode = fields["guest_mode"] == "true"
            return httpx.Response(
                200,
                json={
                    "guest_mode": self.guest_mode,
                    "message": "Configuration updated successfully",
                },
            )
        if parts == ["admin", "config"]:
            return httpx.Response(
                200, json={"guest_mode": self.guest_mode, "updated_at": 5, "updated_by": "1"}
            )
        if parts == ["admin", "jobs", "storage", "size"]:
            return httpx.Response(200, json={"total_size": 123, "job_count": len(self.jobs)})
        if parts == ["admin", "jobs", "cleanup"]:
            return httpx.Response(
                200, json={"deleted_count": int(request.url.params["days"]), "freed_space": 0}
            )
        return httpx.Response(404, json={"detail": "Not Found"})


def _output_path(task_type: str) -> str:
    return {
        "hash": "output/hash.json",
        "exif": "output/exif_metadata.json",
        "hls_streaming": "output",
        "face_detection": "output/face_detection.json",
    }.get(task_type, f"output/{task_type}.out")


def offline_client(server: FakeComputeServer, **kwargs: Any) -> ComputeClient:
    """A ComputeClient on the fake server with an offline (socket-free) MQTT monitor."""
    monitor = kwargs.pop("mqtt_monitor", None) or MQTTJobMonitor("localhost", 1, connect=False)
    return ComputeClient(
        base_url="http://compute.test",
        mqtt_monitor=monitor,
        transport=server.transport(),
        **kwargs,
    )


def user_body(user_id: int, username: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": username,
        "is_admin": False,
        "is_active": True,
        "id": user_id,
        "created_at": "2026-01-24T10:30:00.123456",
        "permissions": [],
    }
    body.update(extra)
    return body


class FakeAuthServer:
    """The auth service's endpoints with an in-memory user table."""

    def __init__(self, token_lifetime_s: float = 1800.0) -> None:
        self.token_lifetime_s: float = token_lifetime_s
        self.users: dict[int, dict[str, Any]] = {
            1: user_body(1, "admin", is_admin=True, permissions=["*"])
        }
        self.passwords: dict[str, str] = {"admin": "secret"}
        self.requests: list[httpx.Request] = []
        self.refreshes: int = 0
        self.issued: list[str] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def _issue(self, user_id: int) -> str:
        token = make_jwt(time.time() + self.token_lifetime_s, id=str(user_id), n=len(self.issued))
        self.issued.append(token)
        return token

    def _caller(self, request: httpx.Request) -> dict[str, Any] | None:
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ")
        if token not in self.issued:
            return None
        payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        return self.users.get(int(payload["id"]))

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/auth/token":
            fields, _ = parse_multipart(request)
            if self.passwords.get(fields.get("username", "")) != fields.get("password"):
                return httpx.Response(401, json={"detail": "Incorrect username or password"})
            user = next(u for u in self.users.values() if u["username"] == fields["username"])
            return httpx.Response(
                200, json={"access_token": self._issue(user["id"]), "token_type": "bearer"}
            )
        if path == "/auth/public-key":
            return httpx.Response(200, json={"public_key": "PEM", "algorithm": "ES256"})
        caller = self._caller(request)
        if caller is None:
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if path == "/auth/token/refresh":
            self.refreshes += 1
            return httpx.Response(
                200, json={"access_token": self._issue(caller["id"]), "token_type": "bearer"}
            )
        if path == "/users/me":
            return httpx.Response(200, json=caller)
        if not caller["is_admin"]:
            return httpx.Response(403, json={"detail": "The user doesn't have enough privileges"})
        if path == "/users/" and request.method == "POST":
            fields, _ = parse_multipart(request)
            new_id = max(self.users) + 1
            perms = [p for p in fields.get("permissions", "").split(",") if p]
            self.users[new_id] = user_body(
                new_id,
                fields["username"],
                is_admin=fields["is_admin"] == "true",
                is_active=fields["is_active"] == "true",
                permissions=perms,
            )
            self.passwords[fields["username"]] = fields["password"]
            return httpx.Response(201, json=self.users[new_id])
        if path == "/users/" and request.method == "GET":
            skip = int(request.url.params.get("skip", "0"))
            limit = int(request.url.params.get("limit", "100"))
            return httpx.Response(
                200, json=[self.users[k] for k in sorted(self.users)][skip : skip + limit]
            )
        if path.startswith("/users/"):
            user_id = int(path.split("/")[2])
            user = self.users.get(user_id)
            if user is None:
                return httpx.Response(404, json={"detail": "User not found"})
            if request.method == "GET":
                return httpx.Response(200, json=user)
            if request.method == "PUT":
                fields, _ = parse_multipart(request)
                if "permissions" in fields:
                    user["permissions"] = [p for p in fields["permissions"].split(",") if p]
                for key in ("is_admin", "is_active"):
                    if key in fields:
                        user[key] = fields[key] == "true"
                if "password" in fields:
                    self.passwords[user["username"]] = fields["password"]
                return httpx.Response(200, json=user)
            if request.method == "DELETE":
                del self.users[user_id]
                return httpx.Response(204)
        return httpx.Response(404, json={"detail": "Not Found"})


def serve_cli_from(
    monkeypatch: Any, server: FakeComputeServer, monitor: MQTTJobMonitor | None = None
) -> None:
    """Make ``cl-client`` commands (``cli.common.compute_client``) talk to ``server``.

    ``monitor`` replaces the MQTT monitor of commands that want one (default: an offline one,
    so callbacks are driven by the SDK's polling fallback).
    """
    from cl_client.cli import common

    def build(**kwargs: Any) -> ComputeClient:
        kwargs["transport"] = server.transport()
        kwargs["mqtt_monitor"] = (
            kwargs.get("mqtt_monitor") or monitor or MQTTJobMonitor(connect=False)
        )
        return ComputeClient(**kwargs)

    monkeypatch.setattr(common, "ComputeClient", build)
