"""Fetch one hub-hosted model file with ``huggingface_hub`` (its cache, resume, HF_TOKEN).

``huggingface_hub`` reads ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` once at import; both are read
here at call time instead, so a changed environment (a mirror set later, tests) takes effect.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx2 as httpx  # the HTTP client huggingface_hub 2.x raises errors from
from huggingface_hub import constants, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from cl_server.errors import ClServerError
from cl_server.models.registry import HubFile

ENDPOINT_ENV = "HF_ENDPOINT"
OFFLINE_ENV = "HF_HUB_OFFLINE"


class HubError(ClServerError):
    """The hub could not be reached or refused the file."""


def hub_endpoint() -> str:
    return (os.environ.get(ENDPOINT_ENV) or constants.ENDPOINT).rstrip("/")


def _offline() -> bool:
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def unreachable_message(endpoint: str, manual_dir: Path) -> str:
    return (
        f"cannot reach the model hub at {endpoint} (set {ENDPOINT_ENV} to use a mirror, "
        f"or place the files by hand in {manual_dir}/)"
    )


def _http_cause(exc: BaseException) -> HfHubHTTPError | None:
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        if isinstance(cause, HfHubHTTPError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def fetch_hub_file(hub: HubFile, name: str, manual_dir: Path) -> Path:
    """Path of the file in the huggingface_hub cache, downloading it when not cached."""
    endpoint = hub_endpoint()
    where = f"{hub.repo}@{hub.revision}/{hub.path}"
    try:
        return Path(
            hf_hub_download(
                hub.repo,
                hub.path,
                revision=hub.revision,
                endpoint=endpoint,
                local_files_only=_offline(),
            )
        )
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as exc:
        # huggingface_hub wraps a failed metadata request (say HTTP 500) in LocalEntryNotFound.
        http = _http_cause(exc)
        if http is not None:
            status = http.response.status_code
            raise HubError(f"{name}: {where} from {endpoint} failed: HTTP {status}") from exc
        raise HubError(unreachable_message(endpoint, manual_dir)) from exc
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise HubError(unreachable_message(endpoint, manual_dir)) from exc
    except httpx.TransportError as exc:
        raise HubError(f"{name}: download of {where} from {endpoint} failed: {exc}") from exc
    except (RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError) as exc:
        raise HubError(
            f"{name}: {endpoint} refused {where} (repository or revision not found, or it needs "
            "HF_TOKEN)"
        ) from exc
    except EntryNotFoundError as exc:
        raise HubError(f"{name}: {endpoint} has no file {where} (HTTP 404)") from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code
        raise HubError(
            f"{name}: download of {where} from {endpoint} failed: HTTP {status}"
        ) from exc
    except OSError as exc:
        raise HubError(f"{name}: download of {where} from {endpoint} failed: {exc}") from exc
