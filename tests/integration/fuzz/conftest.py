"""Fixtures of the schemathesis runs: one throwaway stack, the admin's token, a spare user."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest
from schemathesis.pytest.plugin import SchemathesisFunction

from tests.integration.fuzz.fuzzing import Target
from tests.support.stack import Stack, running_stack
from tests.support.users import bearer

UPLOAD_LIMIT = 256 * 1024
"""Small, so generated bodies can reach the 413 path."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each schemathesis test its own node id (``test_x[GET /path]``).

    schemathesis names the items ``test_x[<operation>]`` but, with pytest 9, their node ids all
    read ``test_x``, so reports and ``--lf`` could not tell the operations apart.
    """
    for item in items:
        if isinstance(item, SchemathesisFunction) and "[" not in item.nodeid:
            # pytest 9 keeps the id in this attribute; elsewhere its own node ids are used.
            with contextlib.suppress(AttributeError):
                item._id = item.parent.id.child(item.name)


@pytest.fixture(scope="package")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Broker, auth and compute (auth enforced, no workers), thrown away after the run."""
    with running_stack(
        tmp_path_factory.mktemp("fuzz"), mode="enforced", workers=0, max_upload_bytes=UPLOAD_LIMIT
    ) as stack:
        yield stack


@pytest.fixture(scope="package")
def admin_token(fuzz_stack: Stack) -> str:
    return fuzz_stack.admin_token()


@pytest.fixture(scope="package")
def user_ids(fuzz_stack: Stack, admin_token: str) -> tuple[int, int]:
    """The admin's id and that of a spare user the protected cases are redirected to."""
    headers = bearer(admin_token)
    with httpx.Client(base_url=fuzz_stack.auth_url, headers=headers, timeout=30) as client:
        me = client.get("/users/me")
        me.raise_for_status()
        spare = client.post("/users/", data={"username": "fuzz-spare", "password": "spare-pw"})
        spare.raise_for_status()
    return int(me.json()["id"]), int(spare.json()["id"])


@pytest.fixture(scope="package")
def auth_target(fuzz_stack: Stack, admin_token: str, user_ids: tuple[int, int]) -> Target:
    return Target(fuzz_stack.auth_url, admin_token, *user_ids)


@pytest.fixture(scope="package")
def compute_target(fuzz_stack: Stack, admin_token: str, user_ids: tuple[int, int]) -> Target:
    return Target(fuzz_stack.compute_url, admin_token, *user_ids)
