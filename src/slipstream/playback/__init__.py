"""Playback verification in a real browser: hls.js frames for HLS, any <video> for embeds."""

from __future__ import annotations

from slipstream.playback.locate import find_browser, find_hls_js
from slipstream.playback.verifier import PlaybackVerifier

__all__ = ["PlaybackVerifier", "find_browser", "find_hls_js"]
