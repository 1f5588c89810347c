"""ASGI middleware that caps request bodies by counting bytes as they stream in (413)."""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cl_server.compute.errors import UploadTooLargeError


class UploadLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes
        for name, value in scope.get("headers", []):
            # A declared length over the limit is refused before reading anything.
            if name == b"content-length" and value.isdigit() and int(value) > max_bytes:
                error = UploadTooLargeError(max_bytes)
                response = JSONResponse({"detail": error.detail}, status_code=error.status_code)
                await response(scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # Raised inside the handler's body read, so the app's error handler answers.
                    raise UploadTooLargeError(max_bytes)
            return message

        await self.app(scope, counting_receive, send)
