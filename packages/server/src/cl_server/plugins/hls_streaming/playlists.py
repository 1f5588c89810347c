"""Reading ffmpeg's media playlists and writing the master playlist (pure text functions).

The master's ``BANDWIDTH`` is the peak segment bit rate as RFC 8216 defines it (the largest bit rate
of any run of consecutive segments lasting 0.5-1.5 x the target duration), measured on the files
written, and ``AVERAGE-BANDWIDTH`` the whole rendition's mean; both include audio and MPEG-TS
overhead, which is what a player has to download.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    uri: str
    duration_s: float


@dataclass(frozen=True)
class MediaPlaylist:
    target_duration_s: int
    segments: tuple[Segment, ...]

    @property
    def total_duration_s(self) -> float:
        return sum(s.duration_s for s in self.segments)


def parse_media_playlist(text: str) -> MediaPlaylist:
    """Segments (URI and ``#EXTINF`` duration) and target duration of a media playlist."""
    lines = [ln.strip() for ln in text.splitlines()]
    if not lines or lines[0] != "#EXTM3U":
        raise ValueError("not an M3U8 playlist (missing #EXTM3U)")
    target = 0
    pending: float | None = None
    segments: list[Segment] = []
    for line in lines[1:]:
        if line.startswith("#EXT-X-TARGETDURATION:"):
            target = int(line.partition(":")[2])
        elif line.startswith("#EXTINF:"):
            pending = float(line.partition(":")[2].split(",", 1)[0])
        elif line and not line.startswith("#"):
            if pending is None:
                raise ValueError(f"segment {line!r} has no #EXTINF")
            segments.append(Segment(uri=line, duration_s=pending))
            pending = None
    return MediaPlaylist(target_duration_s=target, segments=tuple(segments))


def peak_bit_rate(sizes: Sequence[int], durations: Sequence[float], target_s: float) -> int:
    """RFC 8216 peak segment bit rate (bit/s) of segments with these byte sizes and durations.

    Windows of consecutive segments lasting between 0.5 and 1.5 x ``target_s`` are considered, so
    a short final segment does not count alone. Falls back to the mean when no window qualifies.
    """
    if len(sizes) != len(durations):
        raise ValueError("sizes and durations differ in length")
    if not sizes:
        return 0
    low, high = 0.5 * target_s, 1.5 * target_s
    best = 0.0
    for start in range(len(sizes)):
        total_bytes = 0
        total_s = 0.0
        for end in range(start, len(sizes)):
            total_bytes += sizes[end]
            total_s += durations[end]
            if total_s > high:
                break
            if total_s >= low and total_s > 0:
                best = max(best, total_bytes * 8 / total_s)
    if best == 0.0:
        return average_bit_rate(sizes, durations)
    return math.ceil(best)


def average_bit_rate(sizes: Sequence[int], durations: Sequence[float]) -> int:
    total_s = sum(durations)
    return math.ceil(sum(sizes) * 8 / total_s) if total_s > 0 else 0


@dataclass(frozen=True)
class StreamInf:
    uri: str
    bandwidth: int
    average_bandwidth: int
    width: int
    height: int
    codecs: str | None = None


def master_playlist(streams: Sequence[StreamInf]) -> str:
    """Master playlist text listing ``streams`` in order."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for s in streams:
        attrs = [
            f"BANDWIDTH={s.bandwidth}",
            f"AVERAGE-BANDWIDTH={s.average_bandwidth}",
            f"RESOLUTION={s.width}x{s.height}",
        ]
        if s.codecs:
            attrs.append(f'CODECS="{s.codecs}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), s.uri]
    return "\n".join(lines) + "\n"


_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def parse_attributes(attribute_list: str) -> dict[str, str]:
    """An M3U8 attribute list (``A=1,B="x,y"``) as a dict; quotes removed."""
    return {key: value.strip('"') for key, value in _ATTRIBUTE.findall(attribute_list)}


def codecs_by_uri(master_text: str) -> dict[str, str]:
    """``CODECS`` of each variant URI in an existing master playlist (ffmpeg's)."""
    result: dict[str, str] = {}
    pending: dict[str, str] | None = None
    for raw in master_text.splitlines():
        line = raw.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            pending = parse_attributes(line.partition(":")[2])
        elif line and not line.startswith("#") and pending is not None:
            if "CODECS" in pending:
                result[line] = pending["CODECS"]
            pending = None
    return result
