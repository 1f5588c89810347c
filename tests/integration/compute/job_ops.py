"""Support for the job list / owners / cancel / retry tests: one real stack per job database.

Every test that uses ``database`` runs twice: on the default SQLite file and on PostgreSQL
(``CL_TEST_POSTGRES_URL``, default the local trust-auth server; skipped with the reason when it
is not reachable). Each PostgreSQL stack gets a database of its own, dropped afterwards.

``running_stack`` takes its store URL from the settings' environment, so the compute service
finds PostgreSQL through ``CL_COMPUTE_DATABASE_URL`` set around its start, and workers get the
same variable through ``Stack.env``; that is why stacks here start with no workers and
``start_worker`` is called once the URL is in place.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from cl_server.settings import ComputeSettings
from tests.support.postgres import fresh_database_or_skip
from tests.support.stack import Mode, Stack, running_stack
from tests.support.users import bearer

Database = Literal["sqlite", "postgres"]
DATABASE_ENV = "CL_COMPUTE_DATABASE_URL"

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def stack_on(
    database: Database,
    tmp_path: Path,
    *,
    mode: Mode = "no-auth",
    tasks: Sequence[str] = (),
) -> Generator[Stack]:
    """A running stack whose job store is ``database``, with one worker for ``tasks`` if any."""
    with ExitStack() as cleanup:
        env = cleanup.enter_context(pytest.MonkeyPatch.context())
        url: str | None = None
        if database == "postgres":
            url = cleanup.enter_context(fresh_database_or_skip("cl_jobops"))
            env.setenv(DATABASE_ENV, url)
        else:
            env.delenv(DATABASE_ENV, raising=False)
        stack = cleanup.enter_context(running_stack(tmp_path, mode=mode, workers=0))
        if url is not None:
            stack.env[DATABASE_ENV] = url
        if tasks:
            stack.start_worker(list(tasks))
            stack.wait_for_workers(1)
        yield stack


def database_url(stack: Stack) -> str:
    """The job store URL the stack's compute service and workers use."""
    return stack.env.get(DATABASE_ENV) or ComputeSettings(data_dir=stack.data_dir).database_url


def user_id(stack: Stack, token: str) -> str:
    me = httpx.get(f"{stack.auth_url}/users/me", headers=bearer(token))
    me.raise_for_status()
    return str(me.json()["id"])


def list_jobs(stack: Stack, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{stack.compute_url}/jobs", params=params, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def walk_pages(
    stack: Stack, headers: dict[str, str] | None = None, **params: Any
) -> list[list[dict[str, Any]]]:
    """Every page of a listing, following ``next_cursor`` to the end."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = dict(params) if cursor is None else {**params, "cursor": cursor}
        body = list_jobs(stack, headers, **query)
        pages.append(body["jobs"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 1000, "the cursor never ends"


def post_action(
    stack: Stack, job_id: str, action: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.post(f"{stack.compute_url}/jobs/{job_id}/{action}", headers=headers, timeout=10)
