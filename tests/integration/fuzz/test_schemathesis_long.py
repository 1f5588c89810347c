"""The long schemathesis run, opt-in: ``pytest -m fuzz tests/integration/fuzz``.

Many more examples per operation (``CL_FUZZ_MAX_EXAMPLES``, default ``LONG_EXAMPLES``; seed
``CL_FUZZ_SEED``), every operation both as the admin and without a token, and stateful sequences
(responses feeding later requests, e.g. a created user's id into ``PUT /users/{user_id}``). The
checks are those of the default run. About two minutes on a 2-core machine at the default 150.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import hypothesis
import pytest
from schemathesis import Case
from schemathesis.core.transport import Response

from tests.integration.fuzz.fuzzing import (
    AUTH_DOCUMENT,
    CHECKS,
    COMPUTE_DOCUMENT,
    Target,
    long_examples,
    schema_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

auth_schema = schema_for(AUTH_DOCUMENT, long_examples())
compute_schema = schema_for(COMPUTE_DOCUMENT, long_examples())


@pytest.fixture(autouse=True)
def _opted_in(request: pytest.FixtureRequest) -> None:
    """Runs only when selected by marker: ``-m fuzz`` (or ``-m slow``)."""
    selected = str(request.config.getoption("markexpr") or "")
    if "fuzz" not in selected and "slow" not in selected:
        pytest.skip("the long schemathesis run is opt-in: pytest -m fuzz tests/integration/fuzz")


def _anonymous(target: Target) -> Target:
    return Target(target.base_url, None, target.admin_id, target.spare_id)


@auth_schema.parametrize()
def test_auth_service_as_admin(case: Case, auth_target: Target) -> None:
    auth_target.send(case)


@auth_schema.parametrize()
def test_auth_service_without_token(case: Case, auth_target: Target) -> None:
    _anonymous(auth_target).send(case)


@compute_schema.parametrize()
def test_compute_service_as_admin(case: Case, compute_target: Target) -> None:
    compute_target.send(case)


@compute_schema.parametrize()
def test_compute_service_without_token(case: Case, compute_target: Target) -> None:
    _anonymous(compute_target).send(case)


def _run_workflow(schema: Any, target: Target, reset: Callable[[], None] = lambda: None) -> None:
    class Workflow(schema.as_state_machine()):
        def setup(self) -> None:
            # Every scenario starts from the same server state, or Hypothesis sees a rule
            # behave differently on replay (a user name taken by an earlier scenario).
            reset()
            super().setup()

        def before_call(self, case: Case) -> None:
            target.redirect(case)
            super().before_call(case)

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"base_url": target.base_url, "headers": target.headers}

        def validate_response(
            self, response: Response, case: Case, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=hypothesis.settings(
            max_examples=max(10, long_examples() // 5),
            stateful_step_count=8,
            derandomize=True,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )


@pytest.mark.timeout(900)
def test_auth_service_stateful(auth_target: Target) -> None:
    headers = auth_target.headers
    kept = {auth_target.admin_id, auth_target.spare_id}

    def remove_other_users() -> None:
        with httpx.Client(base_url=auth_target.base_url, headers=headers, timeout=30) as client:
            users = client.get("/users/", params={"limit": 10_000})
            users.raise_for_status()
            for user in users.json():
                if user["id"] not in kept:
                    client.delete(f"/users/{user['id']}").raise_for_status()

    _run_workflow(auth_schema, auth_target, remove_other_users)


@pytest.mark.timeout(900)
def test_compute_service_stateful(compute_target: Target) -> None:
    _run_workflow(compute_schema, compute_target)


def test_the_admin_survived_the_long_run(auth_target: Target, compute_target: Target) -> None:
    headers = auth_target.headers
    me = httpx.get(f"{auth_target.base_url}/users/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["is_admin"] is True
    config = httpx.get(f"{compute_target.base_url}/admin/config", headers=headers)
    assert config.status_code == 200, config.text
