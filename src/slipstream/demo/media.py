"""Real H.264/HEVC/AAC media for the demo and test origins, made once with ffmpeg and cached.

A loop of SEGMENTS segments of SEGMENT_SECONDS each (test pattern with a running
counter, 440 Hz tone), packaged as TS, fMP4, packed AAC and AES-128 TS renditions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from slipstream.demo import encode
from slipstream.errors import SlipstreamError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
SEGMENTS = 24
SEGMENT_SECONDS = 2
FPS = 25
CONTENT_TYPES = {".ts": "video/mp2t", ".m4s": "video/mp4", ".mp4": "video/mp4", ".aac": "audio/aac"}


@dataclass(frozen=True)
class Rendition:
    """One packaged rendition: its segment files (relative to the set's root) and playlist attributes."""

    name: str
    directory: str
    files: tuple[str, ...]
    durations: tuple[float, ...]
    bandwidth: int
    codecs: str
    resolution: str | None = None
    init: str | None = None          # EXT-X-MAP file name (fMP4)
    key_file: str | None = None      # AES-128 key file name
    iv: str | None = None            # AES-128 IV as 0x-prefixed hex

    @property
    def extension(self) -> str:
        """The segments' file extension, e.g. ".ts"."""
        return Path(self.files[0]).suffix

    @property
    def content_type(self) -> str:
        """The segments' Content-Type."""
        return CONTENT_TYPES[self.extension]

    @property
    def has_video(self) -> bool:
        """False for audio-only renditions."""
        return self.resolution is not None


@dataclass(frozen=True)
class MediaSet:
    """Every rendition of one generated media loop."""

    root: Path
    renditions: dict[str, Rendition]
    hevc_available: bool
    generation_seconds: float = 0.0

    @property
    def segment_count(self) -> int:
        """Segments in one loop (the same for every rendition)."""
        return min(len(r.files) for r in self.renditions.values())

    def file(self, rendition: Rendition, name: str) -> Path:
        """The path of one of a rendition's files."""
        return self.root / rendition.directory / name

    def segment_path(self, rendition: Rendition, index: int) -> Path:
        """The file of segment `index` of the loop."""
        return self.file(rendition, rendition.files[index % self.segment_count])


def _params(hevc: bool) -> dict[str, object]:
    return {"v": FORMAT_VERSION, "segments": SEGMENTS, "seconds": SEGMENT_SECONDS, "fps": FPS, "hevc": hevc}


def ensure_media(cache_dir: Path) -> MediaSet:
    """The cached media set under `cache_dir`, generated first if missing (safe if processes race)."""
    if shutil.which("ffmpeg") is None:
        raise SlipstreamError("ffmpeg not found on PATH: it is needed to generate the demo media")
    params = _params(hevc=encode.has_encoder("libx265"))
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    final = Path(cache_dir).expanduser() / f"set-{digest}"
    if (final / "manifest.json").exists():
        return load_media(final)
    return _generate(final, params)


def _generate(final: Path, params: dict[str, object]) -> MediaSet:
    tmp = final.parent / f".tmp-{uuid.uuid4().hex}"
    tmp.mkdir(parents=True)
    started = time.monotonic()
    try:
        seconds = SEGMENTS * SEGMENT_SECONDS
        renditions = encode.build_all(tmp, seconds, SEGMENT_SECONDS, FPS, bool(params["hevc"]))
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SlipstreamError(f"generating demo media failed: {exc}") from exc
    elapsed = time.monotonic() - started
    _write_manifest(tmp, renditions, params, elapsed)
    try:
        os.rename(tmp, final)
    except OSError:  # another process won the race: keep its copy
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("demo media: %d renditions generated in %.1fs at %s", len(renditions), elapsed, final)
    return load_media(final)


def _write_manifest(root: Path, renditions: list[dict[str, object]], params: dict[str, object],
                    elapsed: float) -> None:
    data = {"params": params, "seconds": elapsed, "renditions": renditions}
    (root / "manifest.json").write_text(json.dumps(data, indent=1))


def load_media(root: Path) -> MediaSet:
    """A media set from its manifest."""
    try:
        data = json.loads((root / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise SlipstreamError(f"unreadable demo media manifest in {root}: {exc}") from exc
    renditions = {}
    for item in data["renditions"]:
        item.update(files=tuple(item["files"]), durations=tuple(item["durations"]))
        renditions[item["name"]] = Rendition(**item)
    return MediaSet(root, renditions, bool(data["params"]["hevc"]), float(data["seconds"]))
