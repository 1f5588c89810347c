"""HTTP layer of the auth service (PROTOCOL.md §2.1).

Authentication runs in dependencies, before any body is read: the user endpoints take no body
parameters and read their form inside the handler, so a request without a usable token gets 401
even when its body is JSON or malformed. Every ``ClServerError`` becomes a response in one
exception handler.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from cl_client.auth_models import PublicKeyResponse, TokenResponse
from cl_server import __version__
from cl_server.auth.errors import (
    AuthError,
    NotAuthenticatedError,
    NotEnoughPrivilegesError,
    UserNotFoundError,
)
from cl_server.auth.forms import UserCreateForm, UserUpdateForm
from cl_server.auth.keys import ALGORITHM
from cl_server.auth.passwords import PasswordHasher
from cl_server.auth.revocations import REVOCATIONS_PATH, RevocationList, etag_matches, publish
from cl_server.auth.schemas import ServiceInfo, UserOut
from cl_server.auth.service import AuthService
from cl_server.auth.users import UserRecord
from cl_server.bounds import INT64_MAX
from cl_server.errors import ClServerError
from cl_server.openapi import DocumentRules, error_responses, install_openapi, offline_app
from cl_server.settings import AuthSettings

logger = logging.getLogger(__name__)

FormT = TypeVar("FormT", bound=BaseModel)

SERVICE_MESSAGE = "authentication service is running"

# auto_error=False: a missing token must be our 401 "Not authenticated" with WWW-Authenticate.
_bearer = OAuth2PasswordBearer(tokenUrl="auth/token", auto_error=False)


async def _error_response(_request: Request, exc: Exception) -> Response:
    if isinstance(exc, AuthError):
        status, detail = exc.status_code, exc.message
    else:  # a ClServerError nobody mapped: a bug, not the client's fault
        logger.exception("Unhandled server error", exc_info=exc)
        status, detail = 500, "Internal server error"
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _validate_form(model: type[FormT], fields: Mapping[str, object]) -> FormT:
    """Validate form fields, reporting problems exactly like FastAPI's own 422 for a form."""
    try:
        return model.model_validate(dict(fields))
    except ValidationError as exc:
        errors: list[dict[str, object]] = []
        for error in exc.errors(include_url=False):
            item: dict[str, object] = dict(error)
            item["loc"] = ("body", *error["loc"])
            if error["type"] == "missing":
                item["input"] = None
            elif error["loc"][-1:] == ("password",):
                item.pop("input", None)  # never echo a password back (proxies and logs see it)
            errors.append(item)
        raise RequestValidationError(errors) from exc


def _form_body(model: type[BaseModel]) -> dict[str, object]:
    """OpenAPI description of a form read by hand (FastAPI only documents declared params)."""
    schema = model.model_json_schema()
    content = {"application/x-www-form-urlencoded": {"schema": schema}}
    return {"requestBody": {"required": bool(schema.get("required")), "content": content}}


async def _read_form(request: Request, model: type[FormT]) -> FormT:
    async with request.form() as form:
        return _validate_form(model, dict(form.items()))


def _service(request: Request) -> AuthService:
    service: object = request.app.state.auth_service
    if not isinstance(service, AuthService):
        raise RuntimeError("app was not built by cl_server.auth.app.create_app")
    return service


Service = Annotated[AuthService, Depends(_service)]


def _current_user(service: Service, token: Annotated[str | None, Depends(_bearer)]) -> UserRecord:
    if not token:
        raise NotAuthenticatedError()
    return service.user_for_token(token)


CurrentUser = Annotated[UserRecord, Depends(_current_user)]


def _admin_user(user: CurrentUser) -> UserRecord:
    if not user.is_admin:
        raise NotEnoughPrivilegesError()
    return user


Admin = Annotated[UserRecord, Depends(_admin_user)]

router = APIRouter()


@router.get("/")
def root() -> ServiceInfo:
    return ServiceInfo(message=SERVICE_MESSAGE)


@router.post("/auth/token", responses=error_responses(401, s401="Incorrect username or password"))
def login(service: Service, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> TokenResponse:
    user = service.authenticate(form.username, form.password)
    return TokenResponse(access_token=service.issue_token(user), token_type="bearer")


@router.post("/auth/token/refresh")
def refresh(service: Service, user: CurrentUser) -> TokenResponse:
    # ``user`` is the stored record, so the new token carries current permissions/is_admin.
    return TokenResponse(access_token=service.issue_token(user), token_type="bearer")


@router.get("/auth/public-key")
def public_key(service: Service) -> PublicKeyResponse:
    return PublicKeyResponse(public_key=service.public_key_pem, algorithm=ALGORITHM)


@router.get(
    REVOCATIONS_PATH,
    response_model=RevocationList,
    responses={304: {"description": "Unchanged since the list whose ETag was sent"}},
)
def revocations(
    service: Service, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    """Users whose earlier tokens are revoked, for the compute service to poll
    (docs/auth.md, "Token revocation"). Ids and counters only; no authentication."""
    published = publish(service.revocations.current())
    headers = {"ETag": published.etag, "Cache-Control": "no-cache"}
    if etag_matches(if_none_match, published.etag):
        return Response(status_code=304, headers=headers)
    return Response(published.body, media_type="application/json", headers=headers)


@router.get("/users/me")
def read_me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)


@router.post(
    "/users/",
    status_code=201,
    openapi_extra=_form_body(UserCreateForm),
    responses=error_responses(400, s400="Username already registered, or an unreadable form"),
)
async def create_user(request: Request, service: Service, _admin: Admin) -> UserOut:
    form = await _read_form(request, UserCreateForm)
    return UserOut.of(await run_in_threadpool(service.create_user, form))


@router.get("/users/")
def list_users(
    service: Service,
    _admin: Admin,
    skip: Annotated[int, Query(ge=0, le=INT64_MAX)] = 0,
    limit: Annotated[int, Query(ge=0, le=INT64_MAX)] = 100,
) -> list[UserOut]:
    return [UserOut.of(user) for user in service.store.list_users(skip=skip, limit=limit)]


@router.get("/users/{user_id}", responses=error_responses(404))
def read_user(user_id: int, service: Service, _admin: Admin) -> UserOut:
    user = service.store.get(user_id)
    if user is None:
        raise UserNotFoundError()
    return UserOut.of(user)


async def update_user(user_id: int, request: Request, service: Service, _admin: Admin) -> UserOut:
    form = await _read_form(request, UserUpdateForm)
    return UserOut.of(await run_in_threadpool(service.update_user, user_id, form))


# PATCH is an alias of PUT; two routes keep OpenAPI operation ids unique.
for _method in ("PUT", "PATCH"):
    router.add_api_route(
        "/users/{user_id}",
        update_user,
        methods=[_method],
        name=f"{_method.lower()}_user",
        openapi_extra=_form_body(UserUpdateForm),
        responses=error_responses(404),
    )


@router.delete("/users/{user_id}", status_code=204, responses=error_responses(404))
def delete_user(user_id: int, service: Service, _admin: Admin) -> Response:
    service.store.delete(user_id)
    return Response(status_code=204)


OPENAPI_RULES = DocumentRules(
    security=frozenset({_current_user, _admin_user}),
    forbidden=frozenset({_admin_user}),
)


def create_app(settings: AuthSettings, *, password_hasher: PasswordHasher | None = None) -> FastAPI:
    """Build the auth service. Start-up work (migrations, keys, bootstrap admin) runs in the
    lifespan, so it happens when a server starts the app, not when the app is built.

    ``password_hasher`` defaults to bcrypt cost 12; tests pass a cheaper one.
    """
    service = AuthService(settings, password_hasher)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncGenerator[None]:
        await run_in_threadpool(service.start)
        try:
            yield
        finally:
            service.close()

    # /docs and /redoc with bundled assets; the document is made exact by OPENAPI_RULES.
    app = offline_app(title="CL Server auth service", version=__version__, lifespan=lifespan)
    app.add_exception_handler(ClServerError, _error_response)
    app.state.auth_service = service
    app.include_router(router)
    install_openapi(app, OPENAPI_RULES)
    return app
