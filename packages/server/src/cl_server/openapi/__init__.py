"""Exact OpenAPI documents and offline ``/docs`` and ``/redoc`` pages for both services.

FastAPI documents what a route declares; this package adds what the routes really do: the bearer
security scheme on every route that checks a token, the error statuses each route answers, and,
for the compute service, one documented path per plugin for the single ``POST /jobs/{task_type}``
route that parses its multipart form by hand (docs/api.md).
"""

from cl_server.openapi.docs import offline_app
from cl_server.openapi.document import DocumentRules, install_openapi
from cl_server.openapi.responses import (
    BEARER_SCHEME_NAME,
    BEARER_SECURITY,
    SSE_EVENT_SCHEMA,
    ErrorResponse,
    content_response,
    error_responses,
)

__all__ = [
    "BEARER_SCHEME_NAME",
    "BEARER_SECURITY",
    "SSE_EVENT_SCHEMA",
    "DocumentRules",
    "ErrorResponse",
    "content_response",
    "error_responses",
    "install_openapi",
    "offline_app",
]
