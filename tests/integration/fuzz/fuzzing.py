"""What the schemathesis runs share: the two documents, run settings, and how a case is sent.

The documents are built from the apps at import time, because schemathesis makes one pytest test
per operation while collecting (the services start later, in fixtures); a test checks that they
are exactly the documents the running services serve. Cases go to a throwaway stack (broker,
auth and compute on free ports, auth enforced) with the bootstrap admin's bearer token.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import schemathesis
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cl_server.auth.app import create_app as create_auth_app
from cl_server.compute.app import create_app as create_compute_app
from cl_server.settings import AuthSettings, ComputeSettings
from tests.support.users import bearer

SEED: Final = 20261203
"""Fixed, so every run sends the same cases (``CL_FUZZ_SEED`` overrides it)."""

QUICK_EXAMPLES: Final = 40
"""Examples per operation in the default run (besides the explicit and coverage cases)."""

LONG_EXAMPLES: Final = 150
"""Examples per operation in the opt-in run (``-m fuzz``); ``CL_FUZZ_MAX_EXAMPLES`` overrides."""

REQUEST_TIMEOUT_S: Final = 10.0

CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
"""No 5xx, and every response as the document describes it: status, media type, headers, body."""

PROTECTED_METHODS: Final = frozenset({"PUT", "PATCH", "DELETE"})
"""Methods on ``/users/{user_id}`` that must not touch the admin the run authenticates as."""


def _seed() -> int:
    return int(os.environ.get("CL_FUZZ_SEED", SEED))


def long_examples() -> int:
    return int(os.environ.get("CL_FUZZ_MAX_EXAMPLES", LONG_EXAMPLES))


def _config(max_examples: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": _seed(),
            "request-timeout": REQUEST_TIMEOUT_S,
            "generation": {"max-examples": max_examples},
            # GET /events never ends by itself: read its first event (``ready``), then move on.
            "operations": [{"include-path": "/events", "max-stream-events": 1}],
        }
    )


def _documents() -> tuple[dict[str, Any], dict[str, Any]]:
    """Both services' OpenAPI documents, built without starting anything."""
    scratch = Path(tempfile.gettempdir())
    auth = create_auth_app(AuthSettings(data_dir=scratch)).openapi()
    compute = create_compute_app(ComputeSettings(data_dir=scratch)).openapi()
    return auth, compute


AUTH_DOCUMENT, COMPUTE_DOCUMENT = _documents()


def schema_for(document: dict[str, Any], max_examples: int) -> Any:
    return schemathesis.openapi.from_dict(document, config=_config(max_examples))


@dataclass(frozen=True)
class Target:
    """Where cases go and as whom."""

    base_url: str
    token: str | None
    admin_id: int
    """The user the token belongs to: the run must not delete, demote or deactivate it."""
    spare_id: int
    """A throwaway user; cases aimed at ``admin_id`` are sent to it instead."""

    @property
    def headers(self) -> dict[str, str] | None:
        """The bearer header of ``token``; ``None`` without a token."""
        return bearer(self.token) if self.token else None

    def redirect(self, case: Case) -> None:
        """Aim a PUT, PATCH or DELETE of ``admin_id`` at ``spare_id`` instead."""
        params = case.path_parameters
        if (
            case.method.upper() in PROTECTED_METHODS
            and params is not None
            and params.get("user_id") == self.admin_id
        ):
            params["user_id"] = self.spare_id

    def send(self, case: Case) -> None:
        self.redirect(case)
        case.call_and_validate(base_url=self.base_url, headers=self.headers, checks=CHECKS)
