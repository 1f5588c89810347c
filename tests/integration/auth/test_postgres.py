"""The auth service on PostgreSQL (``CL_TEST_POSTGRES_URL``, default the local trust-auth server).

Each run works in its own schema (via ``search_path``) and drops it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests.integration.auth.conftest import (
    ADMIN_PASSWORD,
    auth_settings,
    bearer,
    login,
    running_auth,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose default schema is a fresh one, dropped after the test."""
    base = make_url(os.environ.get("CL_TEST_POSTGRES_URL", DEFAULT_URL))
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"cl_auth_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin_engine.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin_engine.dispose()
        pytest.skip(f"PostgreSQL at {base.render_as_string()} is unreachable: {exc.orig}")
    try:
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin_engine.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()


def test_auth_service_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    settings = auth_settings(tmp_path, auth_database_url=postgres_url)
    with running_auth(settings) as client:
        admin = bearer(login(client, "admin", ADMIN_PASSWORD))
        created = client.post(
            "/users/",
            data={"username": "pg-user", "password": "pg-pw", "permissions": '["b","a"]'},
            headers=admin,
        )
        assert created.status_code == 201
        assert created.json()["permissions"] == ["b", "a"]
        duplicate = client.post(
            "/users/", data={"username": "pg-user", "password": "x"}, headers=admin
        )
        assert duplicate.status_code == 400
        token = login(client, "pg-user", "pg-pw")
        assert client.get("/users/me", headers=bearer(token)).json() == created.json()
        assert client.get(f"/users/{2**40}", headers=admin).status_code == 404

    # The schema really is in PostgreSQL (not a SQLite file), and a restart finds it migrated.
    assert not (tmp_path / "auth.db").exists()
    engine = create_engine(postgres_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"auth_users", "cl_auth_alembic_version"} <= tables
    finally:
        engine.dispose()
    with running_auth(settings) as client:
        users = client.get("/users/", headers=bearer(login(client, "admin", ADMIN_PASSWORD)))
        assert [u["username"] for u in users.json()] == ["admin", "pg-user"]
        user_id = created.json()["id"]
        revoked = client.put(f"/users/{user_id}", data={"permissions": "a"}, headers=admin)
        assert revoked.status_code == 200
        assert client.get("/users/me", headers=bearer(token)).status_code == 401
        assert client.get("/auth/revocations").json() == {
            "token_versions": {str(user_id): 1},
            "deleted": [],
        }
        deleted = client.delete(f"/users/{user_id}", headers=admin)
        assert deleted.status_code == 204
        assert client.get("/auth/revocations").json() == {
            "token_versions": {},
            "deleted": [str(user_id)],
        }
