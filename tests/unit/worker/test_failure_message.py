from __future__ import annotations

from cl_server.errors import PluginError
from cl_server.worker.loop import failure_message


def test_plugin_errors_are_shown_verbatim() -> None:
    assert failure_message("exif", PluginError("not a readable image: truncated")) == (
        "not a readable image: truncated"
    )


def test_unexpected_errors_are_labelled() -> None:
    message = failure_message("hash", KeyError("x"))
    assert message.startswith("hash: internal error (KeyError")
    assert failure_message("hash", MemoryError()) == (
        "hash: ran out of memory while processing the input"
    )
