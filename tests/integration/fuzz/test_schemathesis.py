"""schemathesis over both OpenAPI documents, in the default run: a fixed seed and few examples.

One test per operation of each service: explicit examples, coverage cases (boundary and invalid
values) and ``QUICK_EXAMPLES`` generated ones, sent as the admin to a throwaway stack. A case fails
on any 5xx or on a response the document does not describe. The longer run is opt-in:
``pytest -m fuzz tests/integration/fuzz`` (test_schemathesis_long.py).
"""

from __future__ import annotations

import httpx
import pytest
from schemathesis import Case

from tests.integration.fuzz.fuzzing import (
    AUTH_DOCUMENT,
    COMPUTE_DOCUMENT,
    QUICK_EXAMPLES,
    Target,
    schema_for,
)
from tests.support.stack import Stack
from tests.support.users import bearer

pytestmark = pytest.mark.integration

auth_schema = schema_for(AUTH_DOCUMENT, QUICK_EXAMPLES)
compute_schema = schema_for(COMPUTE_DOCUMENT, QUICK_EXAMPLES)


def test_fuzzed_documents_are_the_served_ones(fuzz_stack: Stack) -> None:
    assert httpx.get(f"{fuzz_stack.auth_url}/openapi.json").json() == AUTH_DOCUMENT
    assert httpx.get(f"{fuzz_stack.compute_url}/openapi.json").json() == COMPUTE_DOCUMENT


@auth_schema.parametrize()
def test_auth_service(case: Case, auth_target: Target) -> None:
    auth_target.send(case)


@compute_schema.parametrize()
def test_compute_service(case: Case, compute_target: Target) -> None:
    compute_target.send(case)


def test_the_admin_survived(fuzz_stack: Stack, admin_token: str, user_ids: tuple[int, int]) -> None:
    """Runs last in this module: the admin the run used is intact and its token still valid, so
    the protected routes were really reached (not answered 401 after a revocation)."""
    headers = bearer(admin_token)
    me = httpx.get(f"{fuzz_stack.auth_url}/users/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user_ids[0]
    assert me.json()["is_admin"] is True
    assert httpx.get(f"{fuzz_stack.compute_url}/admin/config", headers=headers).status_code == 200
    fuzz_stack.admin_token()  # the password is unchanged too
