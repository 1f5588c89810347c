"""``GET /events``: job and worker changes as Server-Sent Events (PROTOCOL §9)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from cl_server.compute.access import Caller
from cl_server.compute.dependencies import Services, require_jobs_access
from cl_server.live.stream import event_stream
from cl_server.openapi import BEARER_SECURITY, SSE_EVENT_SCHEMA, content_response

router = APIRouter()

STREAM_HEADERS = {
    "Cache-Control": "no-cache",
    # nginx buffers proxied responses by default, which would hold events back.
    "X-Accel-Buffering": "no",
}


@router.get(
    "/events",
    response_class=StreamingResponse,
    # The access check is called in the handler (the token may come in the query).
    openapi_extra=BEARER_SECURITY,
    responses=content_response(
        ("text/event-stream",), SSE_EVENT_SCHEMA, "Server-Sent Events, until disconnected"
    ),
)
async def events(
    services: Services,
    authorization: Annotated[str | None, Header()] = None,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    access_token: Annotated[
        str | None,
        Query(description="The bearer token, for clients that cannot set headers (EventSource)"),
    ] = None,
    last_event_id: Annotated[
        str | None, Query(description="Resume after this event id (as the Last-Event-ID header)")
    ] = None,
) -> StreamingResponse:
    # Browsers' EventSource sends no Authorization header, hence the query parameter; the
    # header wins when both are present.
    credentials = authorization or (f"Bearer {access_token}" if access_token else None)
    # The very check of /jobs* (called, not declared, because the token may be in the query).
    caller = await require_jobs_access(services, credentials)

    async def reauthorize() -> Caller:
        return await require_jobs_access(services, credentials)

    # A reconnecting EventSource sends the header; the query parameter is for the first connect.
    resume = last_event_id_header if last_event_id_header is not None else last_event_id
    stream = event_stream(
        services.live.hub,
        caller,
        reauthorize,
        last_event_id=resume,
        options=services.live.options,
    )
    return StreamingResponse(stream, media_type="text/event-stream", headers=STREAM_HEADERS)
