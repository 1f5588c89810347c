"""``/docs`` (Swagger UI) and ``/redoc`` from static files shipped in a package, never a CDN.

``fastapi-offline`` ships the Swagger UI and ReDoc bundles and a favicon and serves them under
``DOCS_STATIC_URL``. Its ReDoc bundle still loads one image from a CDN (the "API docs by
Redocly" logo in the sidebar), so ``/redoc`` is served here, with a copy of the bundle whose
logo URL is an inline empty image: neither page makes a request to another host.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Final

import fastapi_offline
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse
from fastapi_offline import FastAPIOffline

DOCS_STATIC_URL: Final = "/static-offline-docs"
"""Where the bundled Swagger UI and ReDoc files (and the favicon) are served."""
REDOC_URL: Final = "/redoc"
REDOC_JS_URL: Final = "/redoc-assets/redoc.standalone.js"

REDOC_BUNDLE: Final = Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js"
REDOC_CDN_LOGO: Final = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE: Final = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"

SWAGGER_UI_PARAMETERS: Final[dict[str, Any]] = {
    # Swagger UI's default validator badge calls validator.swagger.io; off, so nothing leaves.
    "validatorUrl": None,
    "persistAuthorization": True,
}


@cache
def offline_redoc_bundle() -> bytes:
    """The ReDoc bundle with its one CDN reference replaced by an inline image."""
    return REDOC_BUNDLE.read_bytes().replace(REDOC_CDN_LOGO.encode(), EMPTY_IMAGE.encode())


def offline_app(**kwargs: Any) -> FastAPI:
    """A ``FastAPI`` app whose ``/docs`` and ``/redoc`` load only assets of this service."""
    app = FastAPIOffline(
        redoc_url=None,
        static_url=DOCS_STATIC_URL,
        swagger_ui_parameters=dict(SWAGGER_UI_PARAMETERS),
        **kwargs,
    )

    @app.get(REDOC_JS_URL, include_in_schema=False)
    def redoc_js() -> Response:
        return Response(
            offline_redoc_bundle(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc_html(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", ""))
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{REDOC_JS_URL}",
            redoc_favicon_url=f"{root}{DOCS_STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )

    return app
