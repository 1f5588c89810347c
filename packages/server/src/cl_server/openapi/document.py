"""``install_openapi``: the app's OpenAPI document, made exact by a few rules per service.

FastAPI's own document is the starting point; then, for every operation:

- a route that depends on one of ``DocumentRules.security`` (or declares ``BEARER_SECURITY``)
  gets the ``bearerAuth`` requirement and 401/403; FastAPI's own security schemes and the
  ``Authorization`` header parameter are replaced by that one scheme;
- a dependency listed in ``DocumentRules.dependency_statuses`` adds its statuses (a job lookup:
  404);
- an operation with a request body gets ``DocumentRules.body_statuses`` (400 for an unreadable
  form, 413 where an upload limit applies) and 422; an operation none of whose parameters can
  fail validation (plain strings only) and that has no body loses FastAPI's blanket 422;
- a status a route declares in its decorator (``responses=``) keeps that description;
- ``DocumentRules.plugin_route`` (compute's ``POST /jobs/{task_type}``) is replaced by one path
  per plugin (``cl_server.openapi.plugins``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import (
    get_openapi,
    validation_error_definition,
    validation_error_response_definition,
)
from fastapi.routing import APIRoute, iter_route_contexts

from cl_server.openapi.plugins import plugin_operations
from cl_server.openapi.responses import (
    BEARER_SCHEME,
    BEARER_SCHEME_NAME,
    ErrorResponse,
    error_response_object,
)

Dependency = Callable[..., Any]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class DocumentRules:
    security: frozenset[Dependency] = frozenset()
    """Dependencies that check the bearer token (401 and 403 follow from them)."""
    dependency_statuses: Mapping[Dependency, tuple[int, ...]] = field(
        default_factory=dict[Dependency, tuple[int, ...]]
    )
    """Further statuses a dependency answers, e.g. ``{get_visible_job: (404,)}``."""
    forbidden: frozenset[Dependency] | None = None
    """Security dependencies that can answer 403; ``None``: all of ``security``."""
    body_statuses: tuple[int, ...] = (400,)
    plugin_route: str | None = None
    """Path of a route that takes every plugin's form, documented as one path per plugin."""


def _dependency_calls(dependant: Dependant) -> Iterator[Dependency]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _dependency_calls(sub)


def _route_calls(app: FastAPI) -> dict[tuple[str, str], set[Dependency]]:
    """Dependency callables per ``(path, method)``, included routers' routes too."""
    calls: dict[tuple[str, str], set[Dependency]] = {}
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        dependant: Dependant = context.dependant
        path, methods = context.path_format, context.methods
        if path is None or methods is None:
            continue
        found = set(_dependency_calls(dependant))
        for method in methods:
            calls[(path, method.lower())] = found
    return calls


def _is_plain_string(schema: dict[str, Any]) -> bool:
    """True for a schema every text value satisfies (``str`` or ``str | None``, unbounded)."""
    if schema == {"type": "null"}:
        return True
    constraints = {k for k in schema if k not in ("title", "description", "default", "examples")}
    if constraints == {"type"}:
        return schema["type"] == "string"
    if constraints == {"anyOf"}:
        return all(_is_plain_string(member) for member in schema["anyOf"])
    return False


def _can_fail_validation(operation: dict[str, Any]) -> bool:
    """Whether a parameter of ``operation`` (one without a body) can fail validation."""
    return not all(
        _is_plain_string(parameter.get("schema", {}))
        for parameter in operation.get("parameters", [])
    )


def _add_statuses(operation: dict[str, Any], statuses: set[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in sorted(statuses):
        responses.setdefault(str(status), error_response_object(status))
    operation["responses"] = dict(sorted(responses.items()))


def _fix_content(operation: dict[str, Any]) -> None:
    """Drop FastAPI's empty JSON schema beside a declared non-JSON body (downloads, streams)."""
    for response in operation.get("responses", {}).values():
        content = response.get("content", {})
        if len(content) > 1 and content.get("application/json") == {"schema": {}}:
            del content["application/json"]


def _apply_rules(operation: dict[str, Any], calls: set[Dependency], rules: DocumentRules) -> None:
    operation["parameters"] = [
        p
        for p in operation.get("parameters", [])
        if not (p.get("in") == "header" and str(p.get("name", "")).lower() == "authorization")
    ]
    if not operation["parameters"]:
        del operation["parameters"]
    statuses: set[int] = set()
    guarded = bool(calls & rules.security) or "security" in operation
    if guarded:
        operation["security"] = [{BEARER_SCHEME_NAME: []}]
        statuses.add(401)
        forbidden = rules.security if rules.forbidden is None else rules.forbidden
        if calls & forbidden or not calls & rules.security:
            statuses.add(403)
    for call in calls:
        statuses.update(rules.dependency_statuses.get(call, ()))
    responses: dict[str, Any] = operation.get("responses", {})
    if "requestBody" in operation:
        statuses.update(rules.body_statuses)
        statuses.add(422)
    elif not _can_fail_validation(operation):
        responses.pop("422", None)
    _add_statuses(operation, statuses)
    _fix_content(operation)


def build_document(app: FastAPI, rules: DocumentRules) -> dict[str, Any]:
    document = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
    )
    components: dict[str, Any] = document.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    schemas.setdefault("ErrorResponse", ErrorResponse.model_json_schema())
    components["securitySchemes"] = {BEARER_SCHEME_NAME: dict(BEARER_SCHEME)}
    calls = _route_calls(app)
    paths: dict[str, Any] = document.get("paths", {})
    for path, item in paths.items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                _apply_rules(operation, calls.get((path, method), set()), rules)
    if rules.plugin_route is not None and rules.plugin_route in paths:
        replaced: dict[str, Any] = {}
        plugin_paths: dict[str, Any] = {}
        for path, item in paths.items():
            if path == rules.plugin_route and "post" in item:
                plugin_paths = plugin_operations(item["post"], schemas)
                replaced.update(plugin_paths)
                rest = {k: v for k, v in item.items() if k != "post"}
                if any(method in rest for method in HTTP_METHODS):
                    replaced[path] = rest
            else:
                replaced[path] = item
        document["paths"] = replaced
        for item in plugin_paths.values():
            _add_statuses(item["post"], {*rules.body_statuses, 422})
    schemas.setdefault("ValidationError", validation_error_definition)
    schemas.setdefault("HTTPValidationError", validation_error_response_definition)
    return document


def install_openapi(app: FastAPI, rules: DocumentRules) -> None:
    """Serve ``build_document(app, rules)`` at the app's ``openapi_url`` (built once, cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app, rules)
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010 - FastAPI's documented override point
