"""hls_streaming pure parts: parameters, file naming, the ffmpeg command, playlists, progress."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from cl_server.plugins.base import JobContext
from cl_server.plugins.hls_streaming.command import (
    SourceStreams,
    Variant,
    build_hls_args,
    encode_timeout_s,
    filter_graph,
    scale_filter,
    var_stream_map,
)
from cl_server.plugins.hls_streaming.naming import (
    is_output_file,
    playlist_name,
    rendition_name,
    segment_name,
)
from cl_server.plugins.hls_streaming.playlists import (
    StreamInf,
    average_bit_rate,
    codecs_by_uri,
    master_playlist,
    parse_attributes,
    parse_media_playlist,
    peak_bit_rate,
)
from cl_server.plugins.hls_streaming.runner import ProgressReporter
from cl_server.plugins.hls_streaming.spec import HlsStreamingParams, HlsStreamingSpec
from cl_server.plugins.registry import get_spec

SPEC = HlsStreamingSpec()

# --- parameters ------------------------------------------------------------------------------


def test_registered_defaults_and_storage() -> None:
    assert isinstance(get_spec("hls_streaming"), HlsStreamingSpec)
    params = HlsStreamingParams.model_validate({})
    assert SPEC.output_path(params, "movie.mp4") == "output"
    assert SPEC.stored_params(params) == {
        "variants": [{"resolution": 720, "bitrate": 3500}, {"resolution": 480, "bitrate": 1500}],
        "include_original": False,
    }


def test_variants_form_string_is_parsed() -> None:
    form = {"variants": json.dumps([{"resolution": 360, "bitrate": 800}]), "include_original": "on"}
    params = HlsStreamingParams.model_validate(form)
    assert SPEC.stored_params(params) == {
        "variants": [{"resolution": 360, "bitrate": 800}],
        "include_original": True,
    }


def test_stored_params_validate_again() -> None:
    # The worker validates the stored (already parsed) params again.
    stored = {"variants": [{"resolution": 240, "bitrate": 400}], "include_original": False}
    assert HlsStreamingParams.model_validate(stored).variants[0].resolution == 240


@pytest.mark.parametrize(
    "variants",
    [
        "not json",
        "[]",
        '{"resolution": 720, "bitrate": 3500}',
        '[{"resolution": null, "bitrate": 3500}]',
        '[{"resolution": 720, "bitrate": null}]',
        '[{"resolution": 720, "bitrate": 99}]',
        '[{"resolution": 0, "bitrate": 500}]',
        '[{"resolution": 721, "bitrate": 500}]',
        '[{"bitrate": 500}]',
        '[{"resolution": 720, "bitrate": 900}, {"resolution": 720, "bitrate": 900}]',
    ],
)
def test_invalid_variants(variants: str) -> None:
    with pytest.raises(ValidationError):
        HlsStreamingParams.model_validate({"variants": variants})


def test_minimum_bitrate_is_accepted() -> None:
    params = HlsStreamingParams.model_validate({"variants": '[{"resolution":144,"bitrate":100}]'})
    assert params.variants[0].bitrate == 100


# --- naming (PROTOCOL §4.1) ------------------------------------------------------------------


def test_names() -> None:
    name = rendition_name(720, 3500)
    assert name == "720p-3500"
    assert playlist_name(name) == "adaptive-720p-3500.m3u8"
    assert segment_name(name, 7) == "adaptive-720p-3500-007.ts"
    assert segment_name("orig", 0) == "adaptive-orig-000.ts"
    assert playlist_name("orig") == "adaptive-orig.m3u8"
    assert is_output_file("adaptive.m3u8")
    assert is_output_file("adaptive-orig-012.ts")
    assert not is_output_file("thumbnail.jpg")


# --- the ffmpeg command ----------------------------------------------------------------------

VARIANTS = [Variant(720, 3500), Variant(480, 1500)]
WITH_AUDIO = SourceStreams(video_index=0, video_codec="h264", audio_index=1, audio_codec="aac")
VIDEO_ONLY = SourceStreams(video_index=0, video_codec="h264", audio_index=None)


def option(args: list[str], name: str) -> str:
    assert args.count(name) == 1, name
    return args[args.index(name) + 1]


def all_values(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == name]


def test_scale_keeps_display_aspect_and_even_width() -> None:
    assert scale_filter(480) == "scale=w='trunc(dar*480/2+0.5)*2':h=480,setsar=1"
    graph = filter_graph(2, VARIANTS)
    assert graph.startswith("[0:2]split=2[s0][s1];")
    assert "[s1]scale=w='trunc(dar*480/2+0.5)*2':h=480,setsar=1[v1]" in graph


def test_one_command_with_every_variant_and_audio(tmp_path: Path) -> None:
    args = build_hls_args(
        Path("/in/movie.mp4"), tmp_path, VARIANTS, WITH_AUDIO, include_original=False
    )
    assert option(args, "-i") == "/in/movie.mp4"
    assert all_values(args, "-map") == ["[v0]", "[v1]", "0:1", "0:1"]
    assert option(args, "-b:v:0") == "3500k"
    assert option(args, "-maxrate:v:0") == "3500k"
    assert option(args, "-bufsize:v:0") == "3500k"
    assert option(args, "-b:v:1") == "1500k"
    assert option(args, "-c:a:0") == "aac"
    assert option(args, "-b:a:1") == "128k"
    assert option(args, "-g") == "60"
    assert option(args, "-force_key_frames") == "expr:gte(t,n_forced*2)"
    assert option(args, "-hls_time") == "2"
    assert option(args, "-hls_playlist_type") == "vod"
    assert option(args, "-hls_list_size") == "0"
    assert option(args, "-var_stream_map") == "v:0,a:0,name:720p-3500 v:1,a:1,name:480p-1500"
    assert option(args, "-hls_segment_filename") == str(tmp_path / "adaptive-%v-%03d.ts")
    assert option(args, "-progress") == "pipe:1"
    assert args[-1] == str(tmp_path / "adaptive-%v.m3u8")


def test_no_audio_without_audio_stream(tmp_path: Path) -> None:
    args = build_hls_args(Path("in.mp4"), tmp_path, VARIANTS, VIDEO_ONLY, include_original=False)
    assert all_values(args, "-map") == ["[v0]", "[v1]"]
    assert not [a for a in args if a.startswith("-c:a")]
    assert option(args, "-var_stream_map") == "v:0,name:720p-3500 v:1,name:480p-1500"


def test_original_is_stream_copied(tmp_path: Path) -> None:
    args = build_hls_args(Path("in.mp4"), tmp_path, VARIANTS, WITH_AUDIO, include_original=True)
    assert all_values(args, "-map") == ["[v0]", "[v1]", "0:0", "0:1", "0:1", "0:1"]
    assert option(args, "-c:v:2") == "copy"
    assert option(args, "-c:a:2") == "copy"
    assert option(args, "-var_stream_map").endswith(" v:2,a:2,name:orig")


def test_original_reencoded_when_ts_cannot_carry_it(tmp_path: Path) -> None:
    source = SourceStreams(video_index=0, video_codec="vp9", audio_index=1, audio_codec="opus")
    args = build_hls_args(Path("in.webm"), tmp_path, VARIANTS[:1], source, include_original=True)
    assert option(args, "-c:v:1") == "libx264"
    assert option(args, "-c:a:1") == "aac"


def test_var_stream_map_and_timeout() -> None:
    assert var_stream_map(["a"], has_audio=False) == "v:0,name:a"
    assert encode_timeout_s(10.0, 2) > 10.0 * 2 * 5
    assert encode_timeout_s(None, 2) == 6 * 3600.0
    with pytest.raises(ValueError):
        build_hls_args(Path("x"), Path("y"), [], VIDEO_ONLY, include_original=False)


# --- playlists -------------------------------------------------------------------------------

MEDIA = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXTINF:2.000000,
adaptive-480p-1500-000.ts
#EXTINF:2.000000,
adaptive-480p-1500-001.ts
#EXTINF:0.500000,
adaptive-480p-1500-002.ts
#EXT-X-ENDLIST
"""


def test_parse_media_playlist() -> None:
    playlist = parse_media_playlist(MEDIA)
    assert playlist.target_duration_s == 2
    assert [s.uri for s in playlist.segments] == [
        "adaptive-480p-1500-000.ts",
        "adaptive-480p-1500-001.ts",
        "adaptive-480p-1500-002.ts",
    ]
    assert math.isclose(playlist.total_duration_s, 4.5)
    with pytest.raises(ValueError):
        parse_media_playlist("hello")


def test_peak_bit_rate_follows_rfc_windows() -> None:
    # 2 s segments of 250 kB (1 Mbit/s) and a 0.5 s tail of 100 kB (1.6 Mbit/s alone).
    sizes = [250_000, 250_000, 100_000]
    durations = [2.0, 2.0, 0.5]
    # The tail counts only together with its neighbour (2.5 s lies within 1..3 s):
    expected = math.ceil((250_000 + 100_000) * 8 / 2.5)
    assert peak_bit_rate(sizes, durations, 2) == expected
    assert average_bit_rate(sizes, durations) == math.ceil(600_000 * 8 / 4.5)
    assert peak_bit_rate([], [], 2) == 0
    with pytest.raises(ValueError):
        peak_bit_rate([1], [], 2)


def test_peak_is_the_largest_window() -> None:
    sizes = [100_000, 500_000, 100_000]
    assert peak_bit_rate(sizes, [2.0, 2.0, 2.0], 2) == math.ceil(500_000 * 8 / 2.0)


def test_master_playlist_and_codecs() -> None:
    ffmpeg_master = (
        "#EXTM3U\n#EXT-X-VERSION:6\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"\n'
        "adaptive-720p-3500.m3u8\n\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2,RESOLUTION=854x480\nadaptive-480p-1500.m3u8\n"
    )
    codecs = codecs_by_uri(ffmpeg_master)
    assert codecs == {"adaptive-720p-3500.m3u8": "avc1.64001f,mp4a.40.2"}
    text = master_playlist(
        [
            StreamInf(
                "adaptive-720p-3500.m3u8",
                3_900_000,
                3_600_000,
                1280,
                720,
                codecs.get("adaptive-720p-3500.m3u8"),
            ),
            StreamInf("adaptive-480p-1500.m3u8", 1_700_000, 1_600_000, 854, 480),
        ]
    )
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    assert lines[3] == (
        "#EXT-X-STREAM-INF:BANDWIDTH=3900000,AVERAGE-BANDWIDTH=3600000,"
        'RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"'
    )
    assert lines[4] == "adaptive-720p-3500.m3u8"
    assert parse_attributes(lines[5].partition(":")[2]) == {
        "BANDWIDTH": "1700000",
        "AVERAGE-BANDWIDTH": "1600000",
        "RESOLUTION": "854x480",
    }


# --- progress --------------------------------------------------------------------------------


def test_progress_maps_media_time_to_1_99(tmp_path: Path) -> None:
    seen: list[int] = []
    ctx = JobContext(
        job_id="p", job_dir=tmp_path, input_path=None, params={}, report_progress=seen.append
    )
    report = ProgressReporter(ctx, 10.0)
    for t in (0.0, 0.05, 2.5, 2.5, 5.0, 9.99, 12.0, 3.0):
        report(t)
    assert seen == [1, 25, 50, 98, 99]


def test_progress_without_duration_reports_nothing(tmp_path: Path) -> None:
    seen: list[int] = []
    ctx = JobContext(
        job_id="p", job_dir=tmp_path, input_path=None, params={}, report_progress=seen.append
    )
    ProgressReporter(ctx, None)(5.0)
    assert seen == []
