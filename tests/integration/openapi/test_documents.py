"""The OpenAPI documents of both services: valid, per-plugin upload forms, bearer security."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.openapi.models import OpenAPI

from cl_server.openapi import BEARER_SCHEME_NAME
from cl_server.plugins.registry import plugin_specs

pytestmark = pytest.mark.integration

METHODS = ("get", "put", "post", "delete", "patch")
COMPUTE_PUBLIC = {("get", "/"), ("get", "/capabilities")}
AUTH_PUBLIC = {
    ("get", "/"),
    ("post", "/auth/token"),
    ("get", "/auth/public-key"),
    ("get", "/auth/revocations"),
}

# Every status each route answers, read from the route code (errors.py, the access checks,
# job lookup, form parsing, UploadLimitMiddleware); test_real_statuses checks a sample live.
ERRORS_BY_ROUTE = ["400", "401", "403", "404", "409", "413", "422"]
COMPUTE_STATUSES: dict[tuple[str, str], set[str]] = {
    ("get", "/"): {"200"},
    ("get", "/capabilities"): {"200"},
    ("get", "/jobs"): {"200", "400", "401", "403", "422"},
    ("get", "/jobs/{job_id}"): {"200", "401", "403", "404"},
    ("delete", "/jobs/{job_id}"): {"204", "401", "403", "404"},
    ("get", "/jobs/{job_id}/files/{file_path}"): {"200", "400", "401", "403", "404"},
    ("post", "/jobs/{job_id}/cancel"): {"200", "401", "403", "404", "409"},
    ("post", "/jobs/{job_id}/retry"): {"200", "401", "403", "404", "409"},
    ("get", "/admin/config"): {"200", "401", "403"},
    ("put", "/admin/config/guest-mode"): {"200", "400", "401", "403", "413", "422"},
    ("get", "/admin/jobs/storage/size"): {"200", "401", "403"},
    ("delete", "/admin/jobs/cleanup"): {"200", "401", "403", "422"},
    ("get", "/workers"): {"200", "401", "403"},
    ("get", "/metrics"): {"200", "401", "403"},
    ("get", "/events"): {"200", "401", "403"},
    **{
        ("post", f"/jobs/{task}"): {"200", "400", "401", "403", "413", "422"}
        for task in plugin_specs()
    },
}
AUTH_STATUSES: dict[tuple[str, str], set[str]] = {
    ("get", "/"): {"200"},
    ("post", "/auth/token"): {"200", "400", "401", "422"},
    ("post", "/auth/token/refresh"): {"200", "401"},
    ("get", "/auth/public-key"): {"200"},
    ("get", "/auth/revocations"): {"200", "304"},
    ("get", "/users/me"): {"200", "401"},
    ("post", "/users/"): {"201", "400", "401", "403", "422"},
    ("get", "/users/"): {"200", "401", "403", "422"},
    ("get", "/users/{user_id}"): {"200", "401", "403", "404", "422"},
    ("put", "/users/{user_id}"): {"200", "400", "401", "403", "404", "422"},
    ("patch", "/users/{user_id}"): {"200", "400", "401", "403", "404", "422"},
    ("delete", "/users/{user_id}"): {"204", "401", "403", "404", "422"},
}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():  # pyright: ignore[reportUnknownVariableType]
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:  # pyright: ignore[reportUnknownVariableType]
            yield from refs(item)


@pytest.mark.parametrize("service", ["compute", "auth"])
def test_document_is_valid_openapi_3(service: str, request: pytest.FixtureRequest) -> None:
    doc: dict[str, Any] = request.getfixturevalue(f"{service}_doc")
    assert doc["openapi"].startswith("3.1")
    OpenAPI.model_validate(doc)  # FastAPI's own OpenAPI 3.1 model
    json.dumps(doc)  # serialisable as served
    schemas = doc["components"]["schemas"]
    for ref in set(refs(doc)):
        prefix = "#/components/schemas/"
        assert ref.startswith(prefix) and ref.removeprefix(prefix) in schemas, ref
    ids = [op["operationId"] for _m, _p, op in operations(doc)]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    for method, path, operation in operations(doc):
        for status, response in operation["responses"].items():
            assert status.isdigit() and response["description"], (method, path, status)


def test_one_multipart_path_per_plugin(compute_doc: dict[str, Any]) -> None:
    paths = compute_doc["paths"]
    assert "/jobs/{task_type}" not in paths
    for task_type, spec in plugin_specs().items():
        body = paths[f"/jobs/{task_type}"]["post"]["requestBody"]
        assert body["required"] is True
        schema = body["content"]["multipart/form-data"]["schema"]
        params = set(spec.params_model.model_fields)
        expected = {"priority", *params} | ({"file"} if spec.requires_file else set())
        assert set(schema["properties"]) == expected, task_type
        required = set(schema.get("required", []))
        model_required = {n for n, f in spec.params_model.model_fields.items() if f.is_required()}
        assert required == model_required | ({"file"} if spec.requires_file else set())
        if spec.requires_file:
            assert schema["properties"]["file"] == {
                **schema["properties"]["file"],
                "type": "string",
                "format": "binary",
            }
        else:
            assert "application/x-www-form-urlencoded" in body["content"]
        priority = schema["properties"]["priority"]
        assert (
            priority["type"],
            priority["minimum"],
            priority["maximum"],
            priority["default"],
        ) == (
            "integer",
            0,
            10,
            5,
        )


def test_plugin_fields_carry_the_specs_types_defaults_and_bounds(
    compute_doc: dict[str, Any],
) -> None:
    def form(task_type: str) -> dict[str, Any]:
        body = compute_doc["paths"][f"/jobs/{task_type}"]["post"]["requestBody"]
        return body["content"]["multipart/form-data"]["schema"]["properties"]

    assert form("hash")["algorithm"]["enum"] == ["sha512", "md5"]
    assert form("hash")["algorithm"]["default"] == "sha512"
    quality = form("image_conversion")["quality"]
    assert (quality["type"], quality["minimum"], quality["maximum"], quality["default"]) == (
        "integer",
        1,
        100,
        85,
    )
    assert "png" in form("image_conversion")["format"]["enum"]
    width = form("media_thumbnail")["width"]
    assert (width["type"], width["exclusiveMinimum"]) == ("integer", 0)
    assert form("face_detection")["confidence_threshold"]["maximum"] == 1
    assert form("clip_embedding")["normalize"] == {
        **form("clip_embedding")["normalize"],
        "type": "boolean",
        "default": True,
    }
    assert form("clip_text_embedding")["text"]["maxLength"] > 0
    # A structured field travels as JSON text; its default is the spec's, as that text.
    variants = form("hls_streaming")["variants"]
    assert (variants["type"], variants["contentMediaType"]) == ("string", "application/json")
    assert variants["contentSchema"]["type"] == "array"
    assert json.loads(variants["default"]) == [
        {"resolution": 720, "bitrate": 3500},
        {"resolution": 480, "bitrate": 1500},
    ]
    assert "HlsVariant" in compute_doc["components"]["schemas"]


@pytest.mark.parametrize(
    ("service", "public"), [("compute", COMPUTE_PUBLIC), ("auth", AUTH_PUBLIC)]
)
def test_bearer_scheme_on_every_protected_operation(
    service: str, public: set[tuple[str, str]], request: pytest.FixtureRequest
) -> None:
    doc: dict[str, Any] = request.getfixturevalue(f"{service}_doc")
    schemes = doc["components"]["securitySchemes"]
    assert schemes == {
        BEARER_SCHEME_NAME: {**schemes[BEARER_SCHEME_NAME], "type": "http", "scheme": "bearer"}
    }
    for method, path, operation in operations(doc):
        names = [p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"]
        assert "authorization" not in names, (method, path)
        if (method, path) in public:
            assert "security" not in operation, (method, path)
            continue
        assert operation["security"] == [{BEARER_SCHEME_NAME: []}], (method, path)
        unauthorized = operation["responses"]["401"]
        assert "WWW-Authenticate" in unauthorized.get("headers", {}) or path == "/auth/token"


@pytest.mark.parametrize(
    ("service", "expected"), [("compute", COMPUTE_STATUSES), ("auth", AUTH_STATUSES)]
)
def test_documented_statuses_are_the_routes_statuses(
    service: str, expected: dict[tuple[str, str], set[str]], request: pytest.FixtureRequest
) -> None:
    doc: dict[str, Any] = request.getfixturevalue(f"{service}_doc")
    documented = {(m, p): set(op["responses"]) for m, p, op in operations(doc)}
    assert documented == expected
    for method, path, operation in operations(doc):
        for status in ERRORS_BY_ROUTE:
            if status in operation["responses"]:
                content = operation["responses"][status]["content"]["application/json"]
                assert "$ref" in content["schema"], (method, path, status)


def test_non_json_responses_name_their_media_type(compute_doc: dict[str, Any]) -> None:
    def ok_content(method: str, path: str) -> set[str]:
        return set(compute_doc["paths"][path][method]["responses"]["200"]["content"])

    assert ok_content("get", "/jobs/{job_id}/files/{file_path}") == {"application/octet-stream"}
    assert ok_content("get", "/events") == {"text/event-stream"}
    assert "text/plain" in ok_content("get", "/metrics")
