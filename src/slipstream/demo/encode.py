"""The ffmpeg runs behind the demo media: encode once per codec, then package by stream copy."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

from slipstream.demo.packing import aes128_encrypt, codec_string, packed_audio_segments

AUDIO_CODEC = "mp4a.40.2"
_QUIET = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]


@functools.cache
def has_encoder(name: str) -> bool:
    """Whether this ffmpeg build has the named encoder."""
    out = subprocess.run(_QUIET + ["-encoders"], capture_output=True, text=True, check=False).stdout
    return any(line.split()[1:2] == [name] for line in out.splitlines() if line.strip())


def _run(args: list[str]) -> None:
    subprocess.run(_QUIET + args, capture_output=True, check=True)


def _sources(seconds: int, fps: int) -> list[str]:
    # testsrc draws a running seconds counter without needing a font.
    return ["-f", "lavfi", "-i", f"testsrc=size=640x360:rate={fps}:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]


def _x264(rate: str, gop: int) -> list[str]:
    # One keyframe per segment and no scene cuts, so every segment starts cleanly.
    return ["-c:v", "libx264", "-preset", "ultrafast", "-level:v", "3.0", "-b:v", rate, "-maxrate", rate,
            "-bufsize", rate, "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-ac", "2"]


def encode_sources(tmp: Path, seconds: int, seg: int, fps: int, hevc: bool) -> None:
    """src360.mkv and src234.mkv (H.264+AAC), and srchevc.mkv when `hevc`."""
    gop = seg * fps
    _run(_sources(seconds, fps) + [
        "-filter_complex", "[0:v]split=2[a][b];[b]scale=416:234[s]",
        "-map", "[a]", "-map", "1:a", *_x264("800k", gop), str(tmp / "src360.mkv"),
        "-map", "[s]", "-map", "1:a", *_x264("300k", gop), str(tmp / "src234.mkv")])
    if hevc:
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0:log-level=error"
        _run(_sources(seconds, fps) + [
            "-c:v", "libx265", "-preset", "ultrafast", "-b:v", "500k", "-x265-params", params,
            "-pix_fmt", "yuv420p", "-tag:v", "hvc1", "-c:a", "aac", "-b:a", "64k", str(tmp / "srchevc.mkv")])


def package(tmp: Path, src: str, out: str, seg: int, extra: list[str],
            ext: str = ".ts") -> list[tuple[str, float]]:
    """Stream-copy `src` into HLS segments under `out`; returns (file name, duration) pairs."""
    folder = tmp / out
    folder.mkdir()
    pattern = str(folder / f"%03d{ext}")
    _run(["-i", str(tmp / src), *extra, "-c", "copy", "-f", "hls", "-hls_time", str(seg),
          "-hls_playlist_type", "vod", "-hls_segment_filename", pattern, str(folder / "index.m3u8")])
    listing = (folder / "index.m3u8").read_text().splitlines()
    (folder / "index.m3u8").unlink()
    return _segments(listing)


def _segments(lines: list[str]) -> list[tuple[str, float]]:
    out, duration = [], 0.0
    for line in lines:
        if line.startswith("#EXTINF:"):
            duration = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            out.append((line, duration))
    return out


def peak_bandwidth(folder: Path, segments: list[tuple[str, float]]) -> int:
    """RFC 8216 section 4.3.4.2: BANDWIDTH is the peak segment bit rate."""
    return max(int((folder / name).stat().st_size * 8 / max(dur, 0.001)) for name, dur in segments)


def rendition(tmp: Path, name: str, segments: list[tuple[str, float]], codecs: str,
              resolution: str | None, **extra: str) -> dict[str, Any]:
    """The manifest record (media.Rendition fields) of a packaged folder `name`."""
    return dict(name=name, directory=name, files=[n for n, _ in segments],
                durations=[d for _, d in segments], bandwidth=peak_bandwidth(tmp / name, segments),
                codecs=codecs, resolution=resolution, **extra)


def _probe_mp4_codec(tmp: Path, src: str) -> str:
    probe = tmp / f"{src}.probe.mp4"
    _run(["-i", str(tmp / src), "-t", "0.5", "-an", "-c", "copy", "-f", "mp4", str(probe)])
    codec = codec_string(probe.read_bytes())
    probe.unlink()
    return codec


def _audio_start_pts(ts_file: Path) -> int:
    """The first audio timestamp in a TS segment, so packed audio lines up with the video."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                          "stream=start_time", "-of", "csv=p=0", str(ts_file)],
                         capture_output=True, text=True, check=True).stdout.strip()
    return round(float(out.split()[0] if out else 0) * 90000)


def build_audio(tmp: Path, durations: list[float], base_pts: int) -> list[tuple[str, float]]:
    """Packed-audio .aac segments (ADTS + ID3 timestamp) cut at the video's segment boundaries."""
    _run(["-i", str(tmp / "src360.mkv"), "-vn", "-c:a", "copy", "-f", "adts", str(tmp / "audio.aac")])
    (tmp / "audio").mkdir()
    pieces = packed_audio_segments((tmp / "audio.aac").read_bytes(), durations, base_pts)
    names = []
    for i, piece in enumerate(pieces):
        (tmp / "audio" / f"{i:03d}.aac").write_bytes(piece)
        names.append((f"{i:03d}.aac", durations[i]))
    return names


def build_aes(tmp: Path, plain: list[tuple[str, float]]) -> tuple[bytes, bytes]:
    """An AES-128 encrypted copy of the ts360 segments; returns (key, iv)."""
    key, iv = os.urandom(16), os.urandom(16)
    (tmp / "aes").mkdir()
    (tmp / "aes" / "key.key").write_bytes(key)
    for name, _ in plain:
        (tmp / "aes" / name).write_bytes(aes128_encrypt((tmp / "ts360" / name).read_bytes(), key, iv))
    return key, iv


def build_all(tmp: Path, seconds: int, seg: int, fps: int, hevc: bool) -> list[dict[str, Any]]:
    """Encode and package every rendition under `tmp`."""
    encode_sources(tmp, seconds, seg, fps, hevc)
    ts360 = package(tmp, "src360.mkv", "ts360", seg, [])
    fmp4 = package(tmp, "src360.mkv", "fmp4", seg, ["-hls_segment_type", "fmp4",
                                                     "-hls_fmp4_init_filename", "init.mp4"], ".m4s")
    avc = codec_string((tmp / "fmp4" / "init.mp4").read_bytes())
    ts234 = package(tmp, "src234.mkv", "ts234", seg, [])
    out = [rendition(tmp, "ts360", ts360, f"{avc},{AUDIO_CODEC}", "640x360"),
           rendition(tmp, "ts234", ts234, f"{avc},{AUDIO_CODEC}", "416x234"),
           rendition(tmp, "video360", package(tmp, "src360.mkv", "video360", seg, ["-an"]), avc, "640x360"),
           rendition(tmp, "fmp4", fmp4, f"{avc},{AUDIO_CODEC}", "640x360", init="init.mp4")]
    durations = [d for _, d in ts360]
    base_pts = _audio_start_pts(tmp / "ts360" / ts360[0][0])
    out.append(rendition(tmp, "audio", build_audio(tmp, durations, base_pts), AUDIO_CODEC, None))
    key, iv = build_aes(tmp, ts360)
    out.append(rendition(tmp, "aes", ts360, f"{avc},{AUDIO_CODEC}", "640x360",
                         key_file="key.key", iv="0x" + iv.hex()))
    if hevc:
        hevc_codec = _probe_mp4_codec(tmp, "srchevc.mkv")
        out.append(rendition(tmp, "hevc", package(tmp, "srchevc.mkv", "hevc", seg, []),
                             f"{hevc_codec},{AUDIO_CODEC}", "640x360"))
    for leftover in ("src360.mkv", "src234.mkv", "srchevc.mkv", "audio.aac"):
        (tmp / leftover).unlink(missing_ok=True)
    return out
