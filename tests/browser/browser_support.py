"""Helpers for the browser tests: a verifier on the found Chromium, free ports, MP4s for embeds."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from origin import TestOrigin
from slipstream.config import VerifySettings
from slipstream.playback import PlaybackVerifier, find_browser


def require_browser() -> None:
    """Skip (with the reason) when no Chromium is installed."""
    if find_browser("") is None:
        pytest.skip("no Chromium found (chromium, chromium-browser, google-chrome, Playwright's)")


def make_verifier(timeout: float = 15.0, concurrency: int = 4) -> PlaybackVerifier:
    """A verifier on the found browser; fails loudly when hls.js was not installed."""
    require_browser()
    verifier = PlaybackVerifier(VerifySettings(timeout=timeout, concurrency=concurrency))
    assert verifier.available, verifier.unavailable_reason
    return verifier


def page_processes(verifier: PlaybackVerifier) -> int:
    """Chromium processes beyond the resident ones (browser, zygotes, GPU, utilities): renderers."""
    if verifier.host is None:
        return 0
    resident = (b"--type=zygote", b"--type=gpu-process", b"--type=utility")
    root, count = verifier.host.root_pid(), 0
    for pid in verifier.host.pids():
        try:  # Chromium rewrites its argv into one string: search, do not split
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        count += pid != root and not any(flag in cmdline for flag in resident)
    return count


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mp4_from_origin(origin: TestOrigin, playlist: str, out: Path, *extra: str) -> bytes:
    """Remux a few seconds of an origin VOD rendition into a progressive MP4 with ffmpeg."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", origin.url(playlist),
           "-t", "6", "-c", "copy", *extra, "-movflags", "+faststart", str(out)]
    subprocess.run(cmd, check=True, timeout=60)
    return out.read_bytes()
