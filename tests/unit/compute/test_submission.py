from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import pytest

from cl_server.compute.errors import RequestValidationFailedError
from cl_server.compute.streamed_form import ReceivedForm
from cl_server.compute.submission import parse_submission, safe_filename
from cl_server.plugins.base import PluginParams, PluginSpec


class _Params(PluginParams):
    algorithm: Literal["a", "b"] = "a"
    flag: bool = True
    size: int | None = None


class _Spec(PluginSpec):
    task_type: ClassVar[str] = "demo"
    params_model: ClassVar[type[PluginParams]] = _Params


class _TextSpec(_Spec):
    requires_file: ClassVar[bool] = False


def _with_file(*fields: tuple[str, str], name: str = "photo.jpg") -> ReceivedForm:
    return ReceivedForm(list(fields), file_path=Path("job/input") / name)


def _without_file(*fields: tuple[str, str]) -> ReceivedForm:
    return ReceivedForm(list(fields))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\pic.png", "pic.png"),
        ("/abs/path/x.gif", "x.gif"),
        ("..", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("bad\x00name.jpg", "bad_name.jpg"),
    ],
)
def test_safe_filename_keeps_only_a_base_name(raw: str | None, expected: str) -> None:
    assert safe_filename(raw) == expected


def test_valid_form_is_parsed_with_defaults() -> None:
    parsed = parse_submission(_Spec(), _with_file(("algorithm", "b"), ("flag", "False")))
    assert parsed.params == _Params(algorithm="b", flag=False)
    assert parsed.priority == 5
    assert parsed.filename == "photo.jpg"


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "on", "True"])
def test_form_booleans_accept_common_spellings(value: str) -> None:
    parsed = parse_submission(_Spec(), _with_file(("flag", value)))
    assert isinstance(parsed.params, _Params) and parsed.params.flag is True


def test_empty_strings_mean_not_given() -> None:
    parsed = parse_submission(_Spec(), _with_file(("size", ""), ("priority", "")))
    assert isinstance(parsed.params, _Params) and parsed.params.size is None
    assert parsed.priority == 5


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(RequestValidationFailedError) as caught:
        parse_submission(_Spec(), _without_file(("algorithm", "zzz"), ("priority", "11")))
    detail = caught.value.detail
    assert not isinstance(detail, str)
    locations = sorted(tuple(str(p) for p in err["loc"]) for err in detail)  # type: ignore[union-attr]
    assert locations == [("body", "algorithm"), ("body", "file"), ("body", "priority")]
    assert caught.value.status_code == 422


def test_text_only_plugins_need_no_file() -> None:
    parsed = parse_submission(_TextSpec(), _without_file(("priority", "0")))
    assert parsed.filename is None
    assert parsed.priority == 0
