"""A migrated auth database in a fresh directory, and the user store on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cl_server.auth.db import create_auth_engine
from cl_server.auth.migrate import upgrade_to_head
from cl_server.auth.users import UserStore


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    # A directory that does not exist yet: the engine makes it on demand.
    engine = create_auth_engine(f"sqlite:///{tmp_path / 'nested' / 'auth.db'}")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine) -> UserStore:
    return UserStore(engine)
