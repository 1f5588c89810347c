"""One documented path per plugin for the single ``POST /jobs/{task_type}`` route.

The route parses its multipart form by hand (it streams the file into the job directory), so
FastAPI sees no body. Here each registered plugin's spec yields the form it accepts: ``file``
(when the plugin needs one), ``priority`` and the plugin's parameters, with the types, defaults
and bounds of the spec's parameter model, so the document follows the specs by construction.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Final

from pydantic_core import to_jsonable_python

from cl_server.plugins.base import PluginSpec
from cl_server.plugins.registry import plugin_specs

FILE_FIELD: Final = "file"
PRIORITY_FIELD: Final = "priority"
PRIORITY_SCHEMA: Final[dict[str, Any]] = {
    "type": "integer",
    "minimum": 0,
    "maximum": 10,
    "default": 5,
    "title": "Priority",
    "description": "Higher runs first (PROTOCOL §4).",
}
SCHEMA_REF_TEMPLATE: Final = "#/components/schemas/{model}"
_KEYWORDS_KEPT_ON_UNWRAP: Final = ("title", "description")


def _unwrap_optional(prop: dict[str, Any]) -> dict[str, Any]:
    """``X | None = None`` becomes ``X``, not required: a form cannot send a null, it omits the
    field (or sends it empty, which the service reads as "not given")."""
    members = prop.get("anyOf")
    if not isinstance(members, list) or prop.get("default", ...) is not None:
        return prop
    typed: list[dict[str, Any]] = [m for m in members if m != {"type": "null"}]  # pyright: ignore[reportUnknownVariableType]
    if len(typed) != 1:
        return prop
    unwrapped = dict(typed[0])
    for key in _KEYWORDS_KEPT_ON_UNWRAP:
        if key in prop:
            unwrapped[key] = prop[key]
    return unwrapped


def _is_structured(prop: dict[str, Any]) -> bool:
    return "$ref" in prop or prop.get("type") in ("array", "object")


def _form_property(prop: dict[str, Any], default: object) -> dict[str, Any]:
    """A form field's schema; structured values travel as a JSON text (e.g. hls ``variants``)."""
    prop = _unwrap_optional(prop)
    if default is not None and "default" not in prop:
        prop = {**prop, "default": to_jsonable_python(default)}
    if not _is_structured(prop):
        return prop
    content_schema = {k: v for k, v in prop.items() if k not in ("title", "description", "default")}
    field: dict[str, Any] = {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": content_schema,
        "description": prop.get("description", "A JSON text; its schema is contentSchema."),
    }
    if "title" in prop:
        field["title"] = prop["title"]
    if "default" in prop:
        field["default"] = json.dumps(prop["default"], separators=(",", ":"))
    return field


def plugin_form_schema(spec: PluginSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    """The form of ``POST /jobs/<spec.task_type>``; referenced models are added to ``schemas``."""
    model = spec.params_model
    model_schema = model.model_json_schema(ref_template=SCHEMA_REF_TEMPLATE)
    schemas.update(model_schema.pop("$defs", {}))
    properties: dict[str, Any] = {}
    required: list[str] = []
    if spec.requires_file:
        properties[FILE_FIELD] = {
            "type": "string",
            "format": "binary",
            "title": "File",
            "description": "The media to process; its file name is kept.",
        }
        required.append(FILE_FIELD)
    properties[PRIORITY_FIELD] = dict(PRIORITY_SCHEMA)
    for name, prop in model_schema.get("properties", {}).items():
        field = model.model_fields[name]
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        properties[name] = _form_property(prop, default)
    required += model_schema.get("required", [])
    schema: dict[str, Any] = {
        "type": "object",
        "title": f"{spec.task_type} job form",
        "properties": properties,
    }
    if required:
        schema["required"] = required
    return schema


def plugin_operations(template: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """``{"/jobs/<task_type>": {"post": operation}}`` for every registered plugin.

    ``template`` is the operation FastAPI generated for ``POST /jobs/{task_type}`` (its
    responses and security); its ``task_type`` path parameter is dropped.
    """
    paths: dict[str, Any] = {}
    for task_type, spec in plugin_specs().items():
        operation = copy.deepcopy(template)
        operation["parameters"] = [
            p for p in operation.get("parameters", []) if p.get("in") != "path"
        ]
        if not operation["parameters"]:
            del operation["parameters"]
        operation["operationId"] = f"submit_{task_type}_job"
        operation["summary"] = f"Submit a {task_type} job"
        operation["description"] = (
            f"Queues a `{task_type}` job. This path is one task type of the route "
            "`POST /jobs/{task_type}`; the form fields are this plugin's parameters."
        )
        form = {"schema": plugin_form_schema(spec, schemas)}
        content: dict[str, Any] = {"multipart/form-data": form}
        if not spec.requires_file:
            # Without a file an urlencoded form works too (the route reads either).
            content["application/x-www-form-urlencoded"] = copy.deepcopy(form)
        operation["requestBody"] = {"required": True, "content": content}
        paths[f"/jobs/{task_type}"] = {"post": operation}
    return paths
