"""Turning a multipart job submission into validated plugin parameters (PROTOCOL §4)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from cl_server.compute.errors import RequestValidationFailedError
from cl_server.compute.streamed_form import ReceivedForm
from cl_server.plugins.base import PluginParams, PluginSpec

_UNSAFE_FILENAME_CHARS = re.compile(r"[\x00-\x1f/\\]")


class _Priority(BaseModel):
    priority: int = Field(default=5, ge=0, le=10)


@dataclass(frozen=True)
class ParsedSubmission:
    params: PluginParams
    priority: int
    filename: str | None
    """The uploaded file's stored name (under the job's ``input/``), if there is one."""


def _errors_to_detail(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "type": error["type"],
            "loc": ["body", *error["loc"]],
            "msg": error["msg"],
            "input": error.get("input"),
        }
        for error in exc.errors(include_url=False, include_context=False)
    ]


def safe_filename(raw: str | None) -> str:
    """Keep only the base name of an uploaded file's name, never a path."""
    name = PureWindowsPath(PurePosixPath(raw or "").name).name
    name = _UNSAFE_FILENAME_CHARS.sub("_", name).strip()
    if name in {"", ".", ".."}:
        return "upload"
    return name


def parse_submission(spec: PluginSpec, form: ReceivedForm) -> ParsedSubmission:
    """Validate form fields with the plugin's model; 422 lists every problem at once."""
    fields: Mapping[str, str] = dict(form.fields)
    detail: list[dict[str, Any]] = []

    priority = 5
    try:
        raw_priority = fields.get("priority")
        values = {} if raw_priority in (None, "") else {"priority": raw_priority}
        priority = _Priority.model_validate(values).priority
    except ValidationError as exc:
        detail += _errors_to_detail(exc)

    # Empty strings mean "not given" for optional fields (the SDK sends None as "").
    plugin_fields = {k: v for k, v in fields.items() if k != "priority" and v != ""}
    params: PluginParams | None = None
    try:
        params = spec.params_model.model_validate(plugin_fields)
    except ValidationError as exc:
        detail += _errors_to_detail(exc)

    if spec.requires_file and form.file_path is None:
        detail.append(
            {"type": "missing", "loc": ["body", "file"], "msg": "Field required", "input": None}
        )
    if detail or params is None:
        raise RequestValidationFailedError(detail)
    stored_name = None if form.file_path is None else form.file_path.name
    return ParsedSubmission(params, priority, stored_name)
