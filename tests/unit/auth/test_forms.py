"""Form parsing of the user endpoints (PROTOCOL.md §2.3 permissions, form booleans)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cl_server.auth.forms import (
    UserCreateForm,
    UserUpdateForm,
    parse_comma_separated,
    parse_permissions,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('["a","b"]', ["a", "b"]),
        ('[ " a" , "b " ]', ["a", "b"]),
        ('["x,y"]', ["x,y"]),  # JSON keeps a comma inside an item
        ("[a, b]", ["a", "b"]),
        ("['read:jobs', \"write:jobs\"]", ["read:jobs", "write:jobs"]),
        ("[1, 2]", ["1", "2"]),  # not a list of strings in JSON: read as a bracketed list
        ("[]", []),
        ("[ , ]", []),
        ("a,b", ["a", "b"]),
        ("  a ,, b ,  ", ["a", "b"]),
        ("b,a,b", ["b", "a", "b"]),  # order kept, items opaque
        ("single", ["single"]),
        ("", []),
        ("   ", []),
    ],
)
def test_parse_permissions_on_create(raw: str, expected: list[str]) -> None:
    assert parse_permissions(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", []), ("a", ["a"]), (" a , b ", ["a", "b"]), ("a,,b,", ["a", "b"]), ("[a]", ["[a]"])],
)
def test_parse_comma_separated_on_update(raw: str, expected: list[str]) -> None:
    assert parse_comma_separated(raw) == expected


def test_create_form_defaults_and_parsing() -> None:
    form = UserCreateForm.model_validate({"username": "u", "password": "p"})
    assert (form.is_admin, form.is_active, form.permissions) == (False, True, [])
    form = UserCreateForm.model_validate(
        {"username": "u", "password": "p", "permissions": "[a, b]", "is_admin": "ON"}
    )
    assert form.permissions == ["a", "b"]
    assert form.is_admin is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(v, True) for v in ["true", "True", "TRUE", "1", "yes", "YES", "on", "On"]],
        *[(v, False) for v in ["false", "False", "FALSE", "0", "no", "No", "off", "OFF"]],
    ],
)
def test_form_booleans(raw: str, expected: bool) -> None:
    form = UserUpdateForm.model_validate({"is_active": raw, "is_admin": raw})
    assert (form.is_active, form.is_admin) == (expected, expected)


def test_update_form_leaves_absent_fields_none_and_empty_permissions_clears() -> None:
    form = UserUpdateForm.model_validate({})
    assert form == UserUpdateForm()
    assert form.permissions is None
    assert UserUpdateForm.model_validate({"permissions": ""}).permissions == []


@pytest.mark.parametrize(
    ("fields", "loc", "error_type"),
    [
        ({"password": "p"}, ("username",), "missing"),
        ({"username": "u"}, ("password",), "missing"),
        ({"username": "", "password": "p"}, ("username",), "string_too_short"),
        ({"username": "u", "password": ""}, ("password",), "string_too_short"),
        ({"username": "u", "password": "x" * 73}, ("password",), "password_too_long"),
        ({"username": "u", "password": "p", "is_admin": "maybe"}, ("is_admin",), "bool_parsing"),
    ],
)
def test_create_form_rejects(fields: dict[str, str], loc: tuple[str, ...], error_type: str) -> None:
    with pytest.raises(ValidationError) as info:
        UserCreateForm.model_validate(fields)
    [error] = info.value.errors()
    assert (error["loc"], error["type"]) == (loc, error_type)


def test_password_limit_counts_utf8_bytes() -> None:
    assert UserCreateForm.model_validate({"username": "u", "password": "é" * 36}).password
    with pytest.raises(ValidationError):
        UserCreateForm.model_validate({"username": "u", "password": "é" * 37})
