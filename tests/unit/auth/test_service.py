"""AuthService without HTTP: start-up, login rules and token checks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from cl_server.auth.errors import (
    InactiveUserError,
    IncorrectLoginError,
    InvalidCredentialsError,
    UserNotFoundError,
)
from cl_server.auth.forms import UserCreateForm, UserUpdateForm
from cl_server.auth.passwords import PasswordHasher
from cl_server.auth.service import AuthService
from cl_server.auth.tokens import decode_token
from cl_server.settings import AuthSettings


@pytest.fixture
def service(tmp_path: Path) -> Iterator[AuthService]:
    settings = AuthSettings.model_validate(
        {"data_dir": tmp_path, "admin_password": SecretStr("pw"), "token_lifetime_minutes": 1.5}
    )
    service = AuthService(settings, PasswordHasher(rounds=4))
    service.start()
    yield service
    service.close()


def _create(service: AuthService, **fields: str) -> int:
    form = UserCreateForm.model_validate({"username": "u", "password": "upw", **fields})
    return service.create_user(form).id


def test_unstarted_service_says_so(tmp_path: Path) -> None:
    service = AuthService(AuthSettings.model_validate({"data_dir": tmp_path}))
    with pytest.raises(RuntimeError, match="start"):
        _ = service.public_key_pem
    service.close()  # harmless


def test_start_bootstraps_and_close_is_idempotent(service: AuthService, tmp_path: Path) -> None:
    assert (tmp_path / "auth.db").exists()
    assert (tmp_path / "keys" / "private_key.pem").exists()
    assert service.authenticate("admin", "pw").is_admin
    service.close()
    service.close()
    with pytest.raises(RuntimeError):
        _ = service.store


def test_authenticate_rules(service: AuthService) -> None:
    with pytest.raises(IncorrectLoginError):
        service.authenticate("admin", "wrong")
    with pytest.raises(IncorrectLoginError):
        service.authenticate("ghost", "pw")
    _create(service, is_active="false")
    with pytest.raises(InactiveUserError):
        service.authenticate("u", "upw")


def test_token_lifetime_comes_from_settings(service: AuthService) -> None:
    token = service.issue_token(service.authenticate("admin", "pw"))
    claims = decode_token(token, service.public_key_pem)
    assert abs(claims.exp - (time.time() + 90)) <= 2


def test_user_for_token_rereads_the_record(service: AuthService) -> None:
    user_id = _create(service, permissions="a")
    token = service.issue_token(service.authenticate("u", "upw"))
    # Adding a permission keeps the token; it reads the current record.
    service.update_user(user_id, UserUpdateForm.model_validate({"permissions": "a,b"}))
    assert service.user_for_token(token).permissions == ("a", "b")

    service.update_user(user_id, UserUpdateForm.model_validate({"is_active": "no"}))
    with pytest.raises(InvalidCredentialsError):
        service.user_for_token(token)
    service.store.delete(user_id)
    with pytest.raises(InvalidCredentialsError):
        service.user_for_token(token)
    with pytest.raises(InvalidCredentialsError):
        service.user_for_token("not-a-token")


def test_update_password_and_missing_user(service: AuthService) -> None:
    user_id = _create(service)
    service.update_user(user_id, UserUpdateForm.model_validate({"password": "new"}))
    assert service.authenticate("u", "new").id == user_id
    with pytest.raises(UserNotFoundError):
        service.update_user(999, UserUpdateForm())
