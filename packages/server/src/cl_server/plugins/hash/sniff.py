"""Media type of a file from its content (PROTOCOL §4.2 ``hash``): never from its name.

Order of decisions, each chosen so a weak signature cannot misfile a common file:
1. empty file → ``file``;
2. text (valid UTF-8, no NUL or stray control bytes in the first 64 KiB) → ``url`` when the whole
   file is one http(s) URL, else ``text`` (a text file that happens to start with "BM" is text,
   not a bitmap); SVG is the one text format reported as ``image``;
3. binary: puremagic's best signature; image types → ``image``; audio/video containers are opened
   with PyAV (headers only) to tell ``video`` (a real video stream, cover art excluded) from
   ``audio``; anything else → ``file``.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import puremagic

MediaType = Literal["image", "video", "audio", "text", "url", "file"]

TEXT_PROBE_BYTES = 64 * 1024
MAX_URL_FILE_BYTES = 8 * 1024
"""A "url" file is one URL; anything longer is treated as ordinary text."""

_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# C0 controls that do not occur in ordinary text (tab, LF, VT, FF, CR and ESC are allowed).
_STRAY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_AV_CONTAINER_MIMES = frozenset(
    {"application/ogg", "application/x-matroska", "application/vnd.ms-asf"}
)


def looks_like_text(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) decodes as UTF-8 text without binary controls."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        # final=False: a multi-byte character cut at the probe boundary is not an error.
        text = decoder.decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return _STRAY_CONTROLS.search(text) is None


def is_single_url(data: bytes) -> bool:
    """True when ``data`` is exactly one http(s) URL once surrounding whitespace is stripped."""
    if len(data) > MAX_URL_FILE_BYTES:
        return False
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        return False
    if not _URL.fullmatch(text):
        return False
    try:
        return bool(urlsplit(text).hostname)
    except ValueError:  # e.g. an invalid IPv6 literal
        return False


def best_mime(path: Path) -> str:
    """MIME type of puremagic's most confident content signature ("" when none matches)."""
    try:
        with path.open("rb") as stream:
            matches = puremagic.magic_stream(stream)  # no filename: content only
    except (puremagic.PureError, ValueError):
        return ""
    for match in matches:
        mime: str = match.mime_type or ""
        if mime:
            return mime.lower()
    return ""


def av_media_type(path: Path) -> MediaType | None:
    """``video`` or ``audio`` from the container's streams; None when PyAV cannot open it."""
    import av
    from av.error import FFmpegError
    from av.stream import Disposition

    try:
        with av.open(str(path), mode="r") as container:
            for stream in container.streams.video:
                if not stream.disposition & Disposition.attached_pic:  # cover art is not video
                    return "video"
            if container.streams.audio:
                return "audio"
            return None
    except (FFmpegError, OSError, ValueError):
        return None


def sniff_media_type(path: Path) -> MediaType:
    with path.open("rb") as stream:
        head = stream.read(TEXT_PROBE_BYTES)
    if not head:
        return "file"
    mime = best_mime(path)
    if looks_like_text(head):
        if mime == "image/svg+xml":
            return "image"
        return "url" if is_single_url(head) else "text"
    if mime.startswith("image/"):
        return "image"
    if mime.startswith(("video/", "audio/")) or mime in _AV_CONTAINER_MIMES:
        found = av_media_type(path)
        if found is not None:
            return found
        if mime.startswith("video/"):
            return "video"
        if mime.startswith("audio/"):
            return "audio"
    return "file"
