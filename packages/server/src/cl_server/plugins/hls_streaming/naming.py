"""File names of PROTOCOL §4.1: ``adaptive.m3u8`` master, ``adaptive-<res>p-<kbps>.m3u8`` and
``adaptive-<res>p-<kbps>-NNN.ts`` per variant, ``adaptive-orig*`` for the stream-copied original.
"""

from __future__ import annotations

PREFIX = "adaptive"
MASTER_PLAYLIST = f"{PREFIX}.m3u8"
ORIGINAL = "orig"


def rendition_name(resolution: int, bitrate_kbps: int) -> str:
    """The ``<res>p-<bitrate>`` part shared by a variant's playlist and segments."""
    return f"{resolution}p-{bitrate_kbps}"


def playlist_name(rendition: str) -> str:
    return f"{PREFIX}-{rendition}.m3u8"


def segment_name(rendition: str, number: int) -> str:
    return f"{PREFIX}-{rendition}-{number:03d}.ts"


# ffmpeg's hls muxer substitutes ``%v`` with the ``name:`` given in -var_stream_map and
# ``%03d`` with the segment number, which yields exactly the names above.
PLAYLIST_PATTERN = f"{PREFIX}-%v.m3u8"
SEGMENT_PATTERN = f"{PREFIX}-%v-%03d.ts"


def is_output_file(name: str) -> bool:
    """Whether ``name`` is one of this plugin's files (to clear a previous attempt's output)."""
    return name.startswith(PREFIX) and name.endswith((".m3u8", ".ts"))
