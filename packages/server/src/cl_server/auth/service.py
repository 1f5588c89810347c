"""The auth service's logic, independent of HTTP: start-up, login, tokens and user management."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from cl_server.auth.bootstrap import ensure_admin
from cl_server.auth.db import create_auth_engine
from cl_server.auth.errors import (
    InactiveUserError,
    IncorrectLoginError,
    InvalidClaimsError,
    InvalidCredentialsError,
    InvalidTokenError,
)
from cl_server.auth.forms import UserCreateForm, UserUpdateForm
from cl_server.auth.keys import KeyPair, load_or_create_keys
from cl_server.auth.migrate import upgrade_to_head
from cl_server.auth.passwords import PasswordHasher
from cl_server.auth.revocations import RevocationReader
from cl_server.auth.tokens import INVALID_PAYLOAD, decode_token, issue_token
from cl_server.auth.users import UserChanges, UserRecord, UserStore
from cl_server.settings import AuthSettings

"""401 detail for a validly signed token with missing or wrongly typed claims (as compute)."""


@dataclass(frozen=True)
class _Started:
    engine: Engine
    store: UserStore
    keys: KeyPair
    revocations: RevocationReader


class AuthService:
    """Built cheaply; ``start()`` migrates the database, loads keys and bootstraps the admin."""

    def __init__(self, settings: AuthSettings, hasher: PasswordHasher | None = None) -> None:
        self.settings: AuthSettings = settings
        self.hasher: PasswordHasher = hasher or PasswordHasher()
        self.token_lifetime: timedelta = timedelta(minutes=settings.token_lifetime_minutes)
        self._started: _Started | None = None

    def start(self) -> None:
        settings = self.settings
        engine = create_auth_engine(settings.database_url)
        try:
            upgrade_to_head(engine)
            keys = load_or_create_keys(settings.keys_dir)
            store = UserStore(engine)
            admin_password = settings.admin_password
            ensure_admin(
                store,
                self.hasher,
                username=settings.admin_username,
                password=None if admin_password is None else admin_password.get_secret_value(),
                data_dir=settings.data_dir,
            )
        except BaseException:
            engine.dispose()
            raise
        self._started = _Started(
            engine=engine, store=store, keys=keys, revocations=RevocationReader(engine)
        )

    def close(self) -> None:
        if self._started is not None:
            self._started.engine.dispose()
            self._started = None

    @property
    def _state(self) -> _Started:
        if self._started is None:
            raise RuntimeError("AuthService.start() has not been called")
        return self._started

    @property
    def store(self) -> UserStore:
        return self._state.store

    @property
    def revocations(self) -> RevocationReader:
        return self._state.revocations

    @property
    def public_key_pem(self) -> str:
        return self._state.keys.public_key_pem

    # --- tokens -----------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> UserRecord:
        user = self.store.get_by_username(username)
        if not self.hasher.verify(password, None if user is None else user.password_hash):
            raise IncorrectLoginError()
        assert user is not None  # verify() is False for a missing user
        if not user.is_active:
            raise InactiveUserError()
        return user

    def issue_token(self, user: UserRecord) -> str:
        return issue_token(
            user_id=user.id,
            permissions=user.permissions,
            is_admin=user.is_admin,
            private_key=self._state.keys.private_key,
            lifetime=self.token_lifetime,
            token_version=user.token_version,
        )

    def user_for_token(self, token: str) -> UserRecord:
        """The current record of the token's user. Tokens of deleted or deactivated users, and
        tokens revoked by a later change (a lower ``token_version``), are refused."""
        try:
            claims = decode_token(token, self._state.keys.public_key)
        except InvalidClaimsError as exc:
            raise InvalidCredentialsError(INVALID_PAYLOAD) from exc
        except InvalidTokenError as exc:
            raise InvalidCredentialsError() from exc
        user = self.store.get(claims.user_id)
        if user is None or not user.is_active or claims.token_version < user.token_version:
            raise InvalidCredentialsError()
        return user

    # --- users --------------------------------------------------------------------------------

    def create_user(self, form: UserCreateForm) -> UserRecord:
        return self.store.create(
            username=form.username,
            password_hash=self.hasher.hash(form.password),
            is_admin=form.is_admin,
            is_active=form.is_active,
            permissions=form.permissions,
        )

    def update_user(self, user_id: int, form: UserUpdateForm) -> UserRecord:
        changes = UserChanges(
            password_hash=None if form.password is None else self.hasher.hash(form.password),
            permissions=form.permissions,
            is_active=form.is_active,
            is_admin=form.is_admin,
        )
        return self.store.update(user_id, changes)
