"""Routes of the dashboard: ``/ui/`` (the page), ``/ui/static/*`` (assets), ``/ui/login``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from cl_server.ui.login import router as login_router

STATIC_DIR = Path(__file__).parent / "static"

# Everything the page loads comes from this service; images may also be blob: URLs (previews of
# job outputs are fetched with the token, then shown from memory).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' blob: data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page is tiny and changes with the package version; never serve a stale one.
    "Cache-Control": "no-cache",
}

router = APIRouter(prefix="/ui", include_in_schema=False)


@router.get("")
def dashboard_redirect() -> RedirectResponse:
    # Relative, so the page works behind a proxy that mounts the service under a path prefix;
    # the trailing slash makes the page's relative asset and API URLs resolve.
    return RedirectResponse("ui/", status_code=307)


@router.get("/")
def dashboard_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)


def install_dashboard(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(login_router)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
