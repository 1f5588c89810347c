"""Mosquitto files for CL Server (``cl-server broker mosquitto-config``).

Three files, the same access rules as the embedded broker (``cl_server.broker.access``):

- ``passwd``: the service account, hashed the way ``mosquitto_passwd`` does it in Mosquitto 2
  (``$7$``: PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte key), so ``mosquitto_passwd`` is not needed;
- ``acl``: anonymous clients may read ``inference/events`` and ``inference/workers/+``; the
  service account may read and write everything;
- ``mosquitto.conf``: a listener using both, with anonymous access on (for the readers) and
  ``set_tcp_nodelay`` (small events go out at once).

Mosquitto acknowledges an anonymous client's publication and drops it ("Denied PUBLISH" in its
log), drops an anonymous client's Last Will the same way, grants forbidden subscriptions but
delivers nothing on them, and refuses a connection with an unknown username or a wrong
password ("not authorised").
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cl_client.topics import JOB_EVENTS_TOPIC, WORKER_TOPIC_FILTER
from cl_server.broker.credentials import ServiceCredentials
from cl_server.private_files import write_private_file

PBKDF2_ITERATIONS = 101
"""``mosquitto_passwd``'s default. Enough here: the password is 256 random bits, so the hash
cannot be searched whatever the count, and Mosquitto runs it on every service connect."""
SALT_BYTES = 12

CONFIG_FILE = "mosquitto.conf"
PASSWORD_FILE = "passwd"
ACL_FILE = "acl"


def mosquitto_password_hash(
    password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """``$7$<iterations>$<base64 salt>$<base64 key>``, as Mosquitto 2's password file holds it."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    key = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    encoded_salt = base64.b64encode(salt).decode("ascii")
    encoded_key = base64.b64encode(key).decode("ascii")
    return f"$7${iterations}${encoded_salt}${encoded_key}"


def password_file_text(credentials: ServiceCredentials) -> str:
    return f"{credentials.username}:{mosquitto_password_hash(credentials.password)}\n"


def acl_file_text(credentials: ServiceCredentials) -> str:
    return (
        "# CL Server MQTT access rules, from `cl-server broker mosquitto-config`.\n"
        "# Topic lines before the first `user` line apply to anonymous clients: read only.\n"
        f"topic read {JOB_EVENTS_TOPIC}\n"
        f"topic read {WORKER_TOPIC_FILTER}\n"
        "\n"
        "# The service account of the compute service and the workers.\n"
        f"user {credentials.username}\n"
        "topic readwrite #\n"
    )


def config_text(
    *, bind: str, port: int, password_file: Path, acl_file: Path, run_as: str | None = None
) -> str:
    user = (
        "# Started as root, Mosquitto switches to this account (default: mosquitto), which\n"
        "# must be able to read the two files above.\n"
        f"user {run_as}\n"
        if run_as
        else ""
    )
    return (
        "# Mosquitto configuration for CL Server, from `cl-server broker mosquitto-config`.\n"
        "# Only the service account in the password file publishes; anonymous clients may read\n"
        f"# {JOB_EVENTS_TOPIC} and {WORKER_TOPIC_FILTER} (see the ACL file).\n"
        f"listener {port} {bind}\n"
        "allow_anonymous true\n"
        f"password_file {password_file}\n"
        f"acl_file {acl_file}\n"
        f"{user}"
        "# Without it each small event waits ~40 ms for the subscriber's delayed ACK.\n"
        "set_tcp_nodelay true\n"
    )


@dataclass(frozen=True)
class MosquittoFiles:
    config: Path
    password_file: Path
    acl_file: Path


def write_mosquitto_config(
    out_dir: Path,
    credentials: ServiceCredentials,
    *,
    bind: str = "127.0.0.1",
    port: int = 1883,
    run_as: str | None = None,
) -> MosquittoFiles:
    """Write ``passwd`` (0600), ``acl`` and ``mosquitto.conf`` (0644) into ``out_dir``.

    The configuration names the other two by absolute path, so it can be copied or included
    (``include_dir``) from anywhere. Existing files are replaced. Mosquitto reads ``passwd`` and
    ``acl`` after dropping root privileges, so a broker started as root needs ``run_as`` (the
    ``user`` option) naming an account that can read them, or the files handed to its own user.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir = out_dir.resolve()
    files = MosquittoFiles(
        config=out_dir / CONFIG_FILE,
        password_file=out_dir / PASSWORD_FILE,
        acl_file=out_dir / ACL_FILE,
    )
    write_private_file(files.password_file, password_file_text(credentials).encode(), 0o600)
    write_private_file(files.acl_file, acl_file_text(credentials).encode(), 0o644)
    write_private_file(
        files.config,
        config_text(
            bind=bind,
            port=port,
            password_file=files.password_file,
            acl_file=files.acl_file,
            run_as=run_as,
        ).encode(),
        0o644,
    )
    return files
