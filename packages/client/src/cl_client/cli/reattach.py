"""Jobs a command leaves running on the server, and how to pick them up again.

Jobs run on the server, not in the CLI: Ctrl-C, a timeout or a lost connection ends only the
watching. Commands record the jobs they follow here, so whatever ends them can say which jobs
are still running and print the command that reattaches to each.
"""

from __future__ import annotations

from cl_client.config import ComputeClientConfig


class PendingJobs:
    """Ids of jobs this command submitted or follows that have not ended, in start order."""

    def __init__(self) -> None:
        self._ids: dict[str, None] = {}  # a dict keeps insertion order and drops repeats

    def add(self, job_id: str) -> None:
        self._ids[job_id] = None

    def discard(self, job_id: str) -> None:
        self._ids.pop(job_id, None)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def __bool__(self) -> bool:
        return bool(self._ids)


def reattach_command(compute_url: str, job_id: str) -> str:
    """``cl-client jobs watch <id>``, naming the service when it is not the default one."""
    default = compute_url.rstrip("/") == ComputeClientConfig.DEFAULT_BASE_URL
    url = "" if default else f" --compute-url {compute_url}"
    return f"cl-client{url} jobs watch {job_id}"


def reattach_lines(compute_url: str, job_ids: list[str]) -> list[str]:
    """One line per job: it continues on the server, and the command that follows it again."""
    return [
        f"job {job_id} continues on the server; reattach with: "
        f"{reattach_command(compute_url, job_id)}"
        for job_id in job_ids
    ]
