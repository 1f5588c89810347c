"""The Mosquitto files ``cl-server broker mosquitto-config`` writes (no broker needed here;
``tests/integration/broker/test_broker_access.py`` runs Mosquitto with them)."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest

from cl_server.broker.access import ANONYMOUS_READABLE, filter_covered_by
from cl_server.broker.credentials import ServiceCredentials
from cl_server.broker.mosquitto import mosquitto_password_hash, write_mosquitto_config

# Written by `mosquitto_passwd -c -b pw svc secret` (Mosquitto 2.0.11).
MOSQUITTO_PASSWD_LINE = (
    "svc:$7$101$gZleRSE+WaCmd8FO$DkFzVeWD63QkKo1rJWfOTuzppo5cuxxwXYPL6F0ka5xeCRG9fBIN+URfbn4oPDQz"
    "jOnISoylngK2XtTt9d2G/Q=="
)


def test_hash_matches_mosquitto_passwd() -> None:
    username, expected = MOSQUITTO_PASSWD_LINE.split(":", 1)
    salt = base64.b64decode(expected.split("$")[3])
    assert username == "svc"
    assert mosquitto_password_hash("secret", salt=salt) == expected


def test_hash_is_salted_pbkdf2_sha512() -> None:
    first, second = mosquitto_password_hash("pw"), mosquitto_password_hash("pw")
    assert first != second  # fresh salt each time
    _, seven, iterations, salt, key = first.split("$")
    assert (seven, iterations) == ("7", "101")
    assert len(base64.b64decode(salt)) == 12
    expected = hashlib.pbkdf2_hmac("sha512", b"pw", base64.b64decode(salt), 101)
    assert base64.b64decode(key) == expected


def test_files_and_modes(tmp_path: Path) -> None:
    credentials = ServiceCredentials("cl-service", "pw")
    files = write_mosquitto_config(
        tmp_path / "out", credentials, bind="127.0.0.1", port=1999, run_as="alice"
    )
    assert stat.S_IMODE(files.password_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.acl_file.stat().st_mode) == 0o644
    config = files.config.read_text()
    assert "listener 1999 127.0.0.1\n" in config
    assert "user alice\n" in config
    assert "set_tcp_nodelay true\n" in config
    assert files.password_file.read_text().startswith("cl-service:$7$")
    assert "pw" not in files.acl_file.read_text()
    # Written again (new salt), nothing else left behind.
    write_mosquitto_config(tmp_path / "out", credentials)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "acl",
        "mosquitto.conf",
        "passwd",
    ]


@pytest.mark.parametrize(
    ("requested", "allowed"),
    [
        ("inference/events", True),
        ("inference/workers/+", True),
        ("inference/workers/w1", True),
        ("inference/workers/#", False),
        ("inference/#", False),
        ("#", False),
        ("+/events", False),
        ("inference/events/x", False),
        ("inference/workers", False),
        ("private/x", False),
    ],
)
def test_anonymous_subscriptions(requested: str, allowed: bool) -> None:
    covered = any(filter_covered_by(requested, pattern) for pattern in ANONYMOUS_READABLE)
    assert covered is allowed
