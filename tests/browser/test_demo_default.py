"""`make run`'s service: `slipstream serve` with no config file, so the built-in demo source.

Started the way `make run` starts it (no `--config`, from a directory without a
slipstream.toml), with the verifier on. The media set the other tests generated is
linked into the data dir, as a second `make run` would find its own.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import require_browser

from runner import CLI, Service
from slipstream.demo.media import MediaSet

pytestmark = pytest.mark.browser


class DefaultService(Service):
    """`slipstream serve --port P` run from the data dir, which holds no slipstream.toml."""

    def command(self) -> list[str]:
        return [CLI, "serve", "--port", str(self.port)]

    def start(self, cwd: Path | None = None) -> DefaultService:
        super().start(cwd or self.data_dir)  # a directory with no slipstream.toml in it
        return self


def test_the_default_service_lists_the_demo_channels_within_a_minute(tmp_path: Path, media: MediaSet) -> None:
    require_browser()
    data = tmp_path / "data"
    (data / "media").mkdir(parents=True)
    (data / "media" / media.root.name).symlink_to(media.root, target_is_directory=True)
    svc = DefaultService(tmp_path / "none.toml", data).start()
    try:
        status = svc.wait_run(timeout=60)
        assert status["verifier"] == {"enabled": True, "reason": None}
        [demo] = status["extractors"]
        assert (demo["site_key"], demo["last_error"]) == ("demo", None)
        everything = {s["title"]: s for s in svc.json("/streams/all")}
        live = svc.json("/streams")
        assert len(everything) == 4 and len(live) == 3
        assert all(s["site_key"] == "demo" and s["first_frame_ms"] > 0 for s in live)  # played in Chromium
        [broken] = [s for s in everything.values() if not s["is_live"]]
        assert "broken on purpose" in broken["title"] and broken["reason"] == "segment http 404"
        m3u = svc.get("/playlist.m3u")[1].decode()
        assert m3u.count("#EXTINF") == 3 and "/proxy/" in m3u
    finally:
        svc.stop()


def test_without_ffmpeg_the_demo_source_fails_alone(tmp_path: Path) -> None:
    """No media yet and no ffmpeg: the demo source reports why; the service runs on."""
    svc = DefaultService(tmp_path / "none.toml", tmp_path / "data", PATH="/nonexistent").start()
    try:
        status = svc.wait_run(timeout=30)
        [demo] = status["extractors"]
        assert "the demo origin could not start: ffmpeg not found on PATH" in demo["last_error"]
        assert status["last_run_errors"] == {"demo": demo["last_error"]}
        assert svc.json("/streams") == []
        assert svc.get("/healthz")[0] == 200
    finally:
        svc.stop()


def test_a_restarted_demo_keeps_its_stream_ids_and_status(tmp_path: Path, media: MediaSet) -> None:
    """The demo origin comes back on its port, so ids (and uptime history) carry over a restart."""
    data = tmp_path / "data"
    (data / "media").mkdir(parents=True)
    (data / "media" / media.root.name).symlink_to(media.root, target_is_directory=True)
    env = {"SLIPSTREAM_VERIFY__ENABLED": "false"}  # the ids are the point here, not playback
    svc = DefaultService(tmp_path / "none.toml", data, **env).start()
    try:
        svc.wait_run(timeout=60)
        before = {s["id"]: s["url"] for s in svc.json("/streams/all")}
    finally:
        svc.stop()
    svc = DefaultService(tmp_path / "none.toml", data, **env).start()
    try:
        again = svc.wait_run(timeout=60)
        after = {s["id"]: s["url"] for s in svc.json("/streams/all")}
        assert after == before and len(after) == 4  # same port, same ids
        assert again["extractors"][0]["last_error"] is None
    finally:
        svc.stop()
