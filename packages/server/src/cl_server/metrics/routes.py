"""``GET /metrics`` in the Prometheus text format."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from cl_server.compute.dependencies import Services, require_jobs_access
from cl_server.openapi import content_response

router = APIRouter()


async def require_metrics_access(
    services: Services, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Open when ``CL_METRICS_PUBLIC`` is set (a scraper on a private network needs no token);
    otherwise the ``/jobs`` check, which is also open in guest mode and with auth disabled."""
    if services.settings.metrics_public:
        return
    await require_jobs_access(services, authorization)


@router.get(
    "/metrics",
    dependencies=[Depends(require_metrics_access)],
    response_class=Response,
    responses=content_response(
        ("text/plain", "application/openmetrics-text"),
        {"type": "string"},
        "Prometheus text format (OpenMetrics when the Accept header asks for it)",
    ),
)
def metrics(services: Services, accept: Annotated[str | None, Header()] = None) -> Response:
    # A sync route: FastAPI runs it in the thread pool, as the queue-depth query needs.
    body, content_type = services.metrics.render(accept)
    return Response(body, media_type=content_type)
