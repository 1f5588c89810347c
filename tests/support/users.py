"""Users made through a running stack's auth service, for tests of enforced access."""

from __future__ import annotations

import httpx

from tests.support.stack import Stack

TEST_PASSWORD = "pw-123456"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_user(stack: Stack, username: str, permissions: str = "ai_inference_support") -> str:
    """Create a user through the auth service; returns a fresh token of theirs."""
    created = httpx.post(
        f"{stack.auth_url}/users/",
        data={"username": username, "password": TEST_PASSWORD, "permissions": permissions},
        headers=bearer(stack.admin_token()),
    )
    assert created.status_code == 201, created.text
    login = httpx.post(
        f"{stack.auth_url}/auth/token", data={"username": username, "password": TEST_PASSWORD}
    )
    token: str = login.json()["access_token"]
    return token
