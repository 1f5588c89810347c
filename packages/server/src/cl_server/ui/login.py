"""``POST /ui/login``: the dashboard's same-origin way to get a token from the auth service.

A browser page served by the compute service cannot post to the auth service (another origin,
no CORS), so the compute service relays the form to ``<auth_url>/auth/token`` and returns the
token. Nothing is stored here; the page keeps the token in ``sessionStorage``.
"""

from __future__ import annotations

import logging
from typing import Annotated

import httpx
from fastapi import APIRouter, Form
from pydantic import BaseModel

from cl_server.compute.dependencies import Services
from cl_server.compute.errors import ApiError

logger = logging.getLogger(__name__)

AUTH_TIMEOUT_S = 10.0

router = APIRouter(prefix="/ui", include_in_schema=False)


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    return detail if isinstance(detail, str) else f"auth service answered {response.status_code}"


@router.post("/login", response_model=LoginResponse)
async def login(
    services: Services,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> LoginResponse:
    url = f"{services.settings.auth_url.rstrip('/')}/auth/token"
    try:
        async with httpx.AsyncClient(timeout=AUTH_TIMEOUT_S) as client:
            response = await client.post(url, data={"username": username, "password": password})
    except httpx.HTTPError as exc:
        logger.warning("dashboard login: auth service %s unreachable: %s", url, exc)
        raise ApiError(f"The auth service at {url} is unreachable", status_code=502) from exc
    if response.status_code == 401:
        raise ApiError(_detail(response), status_code=401)
    if response.status_code != 200:
        raise ApiError(_detail(response), status_code=502)
    try:
        return LoginResponse.model_validate_json(response.content)
    except ValueError as exc:
        raise ApiError("The auth service sent an unreadable token", status_code=502) from exc
