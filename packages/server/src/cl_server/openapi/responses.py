"""Building blocks of documented responses: the error body, status descriptions, the scheme."""

from __future__ import annotations

from copy import deepcopy
from typing import Any, Final

from pydantic import BaseModel

BEARER_SCHEME_NAME: Final = "bearerAuth"

BEARER_SECURITY: Final[dict[str, Any]] = {"security": [{BEARER_SCHEME_NAME: []}]}
"""``openapi_extra`` for a route that checks the token itself instead of through a dependency."""

BEARER_SCHEME: Final[dict[str, Any]] = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": (
        "An ES256 JWT from the auth service's `POST /auth/token`, sent as "
        "`Authorization: Bearer <token>`. The compute service checks it only while auth is "
        "enforced (guest mode off and auth not disabled); otherwise its protected routes are "
        "open and the header is ignored."
    ),
}

STATUS_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Bad request: a malformed body, or a value the route cannot use",
    401: "Missing, malformed, badly signed or expired bearer token",
    403: "The token's user lacks the permission the route requires",
    404: "Not found",
    409: "The resource's current state does not allow this action",
    413: "The request body exceeds the upload limit",
    422: "Validation Error",
}

ERROR_SCHEMA_REF: Final = "#/components/schemas/ErrorResponse"
VALIDATION_SCHEMA_REF: Final = "#/components/schemas/HTTPValidationError"


class ErrorResponse(BaseModel):
    """Body of every error except request validation: ``{"detail": "<message>"}``."""

    detail: str


SSE_EVENT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": (
        "One Server-Sent Event. Before OpenAPI 3.2 the schema of a `text/event-stream` response "
        "describes each event (fields as a client parses them), not the stream's text."
    ),
    "properties": {
        "event": {
            "type": "string",
            "enum": ["ready", "reset", "job", "worker", "denied"],
            "description": "`ready`/`reset` open the stream; `job` and `worker` report changes; "
            "`denied` ends it when the caller's access no longer passes",
        },
        "data": {"type": "string", "description": "One line of JSON"},
        "id": {"type": "string", "description": "An integer that only grows"},
        "retry": {"type": "integer", "description": "Reconnection delay in milliseconds"},
    },
    "required": ["event", "data"],
}
"""``schema`` of a documented ``text/event-stream`` response (``GET /events``)."""


def error_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route decorator: ``error_responses(404, 409, s409="...")``."""
    return {
        status: {
            "model": ErrorResponse,
            "description": descriptions.get(f"s{status}", STATUS_DESCRIPTIONS[status]),
        }
        for status in statuses
    }


def content_response(
    media_types: tuple[str, ...], schema: dict[str, Any], description: str
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` documenting a non-JSON 200 (a download, a stream, a text format)."""
    return {
        200: {
            "description": description,
            # A copy per media type: the document must not share (or alter) the caller's dict.
            "content": {media_type: {"schema": deepcopy(schema)} for media_type in media_types},
        }
    }


def error_response_object(status: int) -> dict[str, Any]:
    """An OpenAPI response object for ``status`` (422: FastAPI's validation error body)."""
    ref = VALIDATION_SCHEMA_REF if status == 422 else ERROR_SCHEMA_REF
    response: dict[str, Any] = {
        "description": STATUS_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ref}}},
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {
                "description": "Always `Bearer`",
                "schema": {"type": "string", "const": "Bearer"},
            }
        }
    return response
