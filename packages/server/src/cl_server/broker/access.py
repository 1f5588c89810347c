"""Who may do what on the embedded broker (amqtt plugins, loaded by ``run_broker``).

- The service account (``ServiceCredentials``; used by the compute service and the workers) may
  publish, retain and subscribe anywhere.
- Anonymous clients (the SDK, dashboards) may connect and subscribe to ``inference/events`` and
  ``inference/workers/+`` (or one worker's topic) only. Their publications are acknowledged and
  dropped (amqtt logs "not allowed to publish"), so nothing they send reaches a subscriber or is
  retained; a forbidden subscription gets the failure return code 0x80 in its SUBACK. A Last
  Will they set is discarded, so dropping the connection cannot clear a worker's message.
- A client that sends a username is refused at CONNECT unless it is the service account with
  its password ("not authorized"), like Mosquitto with a password file.

This mirrors what ``cl-server broker mosquitto-config`` sets up for Mosquitto (where a
forbidden subscription is granted but delivers nothing). Importing this module imports amqtt;
only ``run_broker`` does, when a broker starts.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from cl_client.topics import JOB_EVENTS_TOPIC, WORKER_TOPIC_FILTER

ANONYMOUS_READABLE: tuple[str, ...] = (JOB_EVENTS_TOPIC, WORKER_TOPIC_FILTER)
"""Topic filters anonymous clients may subscribe to (PROTOCOL.md §5.1)."""


def filter_covered_by(requested: str, allowed: str) -> bool:
    """True when every topic ``requested`` can match is matched by ``allowed``.

    ``allowed`` holds no ``#``. So ``inference/workers/w1`` and ``inference/workers/+`` are covered
    by ``inference/workers/+``, while ``inference/#`` and ``#`` are not.
    """
    wanted = requested.split("/")
    granted = allowed.split("/")
    if len(wanted) != len(granted):
        return False
    return all(g == w or (g == "+" and w != "#") for w, g in zip(wanted, granted, strict=True))


def _is_service(session: Session | None, username: str) -> bool:
    # Only the service account gets past ServiceAuthPlugin with a username, so the name is proof.
    return session is not None and bool(username) and session.username == username


class ServiceAuthPlugin(BaseAuthPlugin):
    """Accept anonymous clients (read-only, without a will) and the service account."""

    @dataclass
    class Config(BaseAuthPlugin.Config):
        service_username: str = ""
        service_password: str = field(default="", repr=False)

    async def authenticate(self, *, session: Session) -> bool:
        config: ServiceAuthPlugin.Config = self.config
        if session.username is None:
            session.is_anonymous = True  # amqtt keeps no offline queue for anonymous sessions
            # A will is published by the broker on the client's behalf, past topic filtering:
            # an anonymous one could clear a worker's retained capability message.
            session.will_flag = False
            return True
        password = (session.password or "").encode("utf-8")
        if (
            config.service_username
            and hmac.compare_digest(
                session.username.encode("utf-8"), config.service_username.encode("utf-8")
            )
            and hmac.compare_digest(password, config.service_password.encode("utf-8"))
        ):
            return True
        self.context.logger.warning(
            "refused MQTT client %s: bad username or password", session.client_id
        )
        return False


class ReadOnlyAnonymousTopicPlugin(BaseTopicPlugin):
    """Everything for the service account; anonymous clients only subscribe to
    ``ANONYMOUS_READABLE`` and never publish."""

    @dataclass
    class Config(BaseTopicPlugin.Config):
        service_username: str = ""

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool:
        config: ReadOnlyAnonymousTopicPlugin.Config = self.config
        if _is_service(session, config.service_username):
            return True
        if action == Action.SUBSCRIBE:
            return topic is not None and any(
                filter_covered_by(topic, allowed) for allowed in ANONYMOUS_READABLE
            )
        # RECEIVE: what the subscription (checked above) matches. PUBLISH: never.
        return action == Action.RECEIVE
