"""The Server-Sent Events wire format (WHATWG HTML, "Server-sent events")."""

from __future__ import annotations


def message(event: str, data: str, *, event_id: int | None = None) -> str:
    """One event; ``data`` must be a single line (JSON text from ``json.dumps`` is)."""
    if "\n" in data or "\r" in data:
        raise ValueError("SSE data must be one line")
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


def comment(text: str) -> str:
    """Ignored by clients; keeps proxies and load balancers from closing an idle stream."""
    return f": {text}\n\n"


def retry(milliseconds: int) -> str:
    """How long a browser waits before reconnecting after the stream drops."""
    return f"retry: {milliseconds}\n\n"
