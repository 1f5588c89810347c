"""Media type of a file from its content (PROTOCOL §4.2 ``hash``): never from its name.

Order of decisions, each chosen so a weak signature cannot misfile a common file:
1. empty file → ``file``;
2. text (valid UTF-8, no NUL or stray control bytes in the first 64 KiB) → ``url`` when the whole
   file is one http(s) URL, else ``text`` (a text file that happens to start with "BM" is text,
   not a bitmap); SVG is the one text format reported as ``image``;
3. binary: a JPEG, PNG, GIF or WebP signature → ``image`` (these four open with bytes no other
   format starts with, and they are most of a photo library, so puremagic's scan of its whole
   signature table is skipped for them); an HEIF/AVIF brand → ``image``; else puremagic's best
   signature; image types →
   ``image``; audio/video containers are opened
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
# ISO-BMFF major brands of still images (HEIF/HEIC/AVIF). Generic signatures file every "ftyp"
# box under video/mp4, and PyAV even finds "video streams" in them, so the brand decides first.
_IMAGE_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
)
_PLAIN_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
_AV_CONTAINER_MIMES = frozenset(
    {"application/ogg", "application/x-matroska", "application/vnd.ms-asf"}
)


def is_svg(head: bytes) -> bool:
    """Whether the text starts (after XML declaration, comments, doctype) with an <svg> root.

    A linear scan on purpose: a regular expression with nested repetition over comments
    backtracks exponentially on crafted input.
    """
    text = head[:4096].removeprefix(b"\xef\xbb\xbf").lower()
    position = 0
    while True:
        while position < len(text) and text[position : position + 1].isspace():
            position += 1
        if text.startswith((b"<?xml", b"<!--", b"<!doctype"), position):
            closer = b"-->" if text.startswith(b"<!--", position) else b">"
            end = text.find(closer, position)
            if end < 0:
                return False
            position = end + len(closer)
            continue
        return text.startswith(b"<svg", position) and text[position + 4 : position + 5] in (
            b" ",
            b"\t",
            b"\n",
            b"\r",
            b">",
            b"/",
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


def _signatures(path: Path) -> list[puremagic.PureMagicWithConfidence]:
    try:
        with path.open("rb") as stream:
            return puremagic.magic_stream(stream)  # no filename: content only
    except (puremagic.PureError, ValueError):
        return []


def best_mime(path: Path) -> str:
    """MIME type of puremagic's most confident content signature ("" when none matches)."""
    for match in _signatures(path):
        mime: str = match.mime_type or ""
        if mime:
            return mime.lower()
    return ""


def pillow_format_signature(path: Path) -> bool:
    """True when the content signature names a format Pillow can decode (by its extension).

    Tells "Pillow cannot read this format" (SVG, camera RAW, HEIC without pillow-heif) apart
    from "this is a JPEG/PNG/... whose data is broken", which must be reported as an error.
    """
    from PIL import Image

    matches = _signatures(path)
    return bool(matches) and str(matches[0].extension).lower() in Image.registered_extensions()


def av_media_type(path: Path) -> MediaType | None:
    """``video`` or ``audio`` from the container's streams; None when PyAV cannot open it."""
    from av.error import FFmpegError
    from av.stream import Disposition

    from cl_server.media.probe import open_input

    try:
        # Restricted demuxers: an uploaded playlist must not make FFmpeg open other files.
        with open_input(path) as container:
            for stream in container.streams.video:
                if not stream.disposition & Disposition.attached_pic:  # cover art is not video
                    return "video"
            if container.streams.audio:
                return "audio"
            return None
    except (FFmpegError, OSError, ValueError):
        return None


def is_plain_image(head: bytes) -> bool:
    """JPEG, PNG, GIF or WebP by their leading bytes (the caller has ruled out text first)."""
    return head.startswith(_PLAIN_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def sniff_media_type(path: Path) -> MediaType:
    with path.open("rb") as stream:
        head = stream.read(TEXT_PROBE_BYTES)
    if not head:
        return "file"
    if looks_like_text(head):
        if is_svg(head) or best_mime(path) == "image/svg+xml":
            return "image"
        return "url" if is_single_url(head) else "text"
    if is_plain_image(head):
        return "image"
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return "image"
    mime = best_mime(path)
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
