"""The service with the playback verifier on: only streams a real browser plays reach /streams."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import mp4_from_origin, require_browser

from origin import TestOrigin
from runner import Service

pytestmark = pytest.mark.browser


def page(body: str) -> str:
    return f"<!doctype html><html><head><title>Pit lane</title></head><body>{body}</body></html>"


@pytest.fixture(scope="module")
def service(origin: TestOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    require_browser()
    tmp = tmp_path_factory.mktemp("verify-service")
    origin.serve_text("/svc/clip.mp4", mp4_from_origin(origin, "/vod/ts360/index.m3u8", tmp / "clip.mp4",
                                                       "-bsf:a", "aac_adtstoasc"), "video/mp4")
    origin.serve_text("/svc/player.html", page('<video src="clip.mp4" autoplay muted loop></video>'),
                      "text/html")
    origin.serve_text("/svc/empty.html", page("<p>Starts at 14:00</p>"), "text/html")
    listing = origin.serve_text("/svc/live.html", page(
        '<iframe title="Pit lane cam" src="player.html"></iframe>'
        '<iframe title="Paddock cam" src="empty.html"></iframe>'), "text/html")
    m3u = origin.serve_text("/svc/list.m3u", "#EXTM3U\n"
                            f"#EXTINF:-1,F1 Race feed\n{origin.url('/live/master.m3u8')}\n"
                            f"#EXTINF:-1,F1 Race feed HEVC\n{origin.url('/live/hevc/index.m3u8')}\n")
    path = tmp / "slipstream.toml"
    path.write_text(f"""
[schedule]
extract_every = "1h"
[verify]
timeout = "15s"
[proxy]
allow_private_upstreams = true
[[sources]]
type = "m3u"
key = "iptv"
url = "{m3u}"
[[sources]]
type = "page"
key = "pages"
pages = ["{listing}"]
[[sources]]
type = "curated"
key = "curated"
streams = [{{ title = "Hand-picked", url = "{origin.url('/~status=404/gone/index.m3u8')}" }}]
""")
    svc = Service(path, tmp / "data").start()
    svc.wait_run(timeout=90)
    yield svc
    svc.stop()


def titles(streams: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["title"]: s for s in streams}


def test_only_what_plays_is_live(service: Service, origin: TestOrigin) -> None:
    everything = titles(service.json("/streams/all"))
    live = titles(service.json("/streams"))
    assert "F1 Race feed" in live and "Hand-picked" in live
    if everything["F1 Race feed HEVC"]["reason"] != "http 404":  # no libx265: no HEVC rendition
        hevc = everything["F1 Race feed HEVC"]
        assert hevc["is_live"] is False and hevc["reason"].startswith("playback: ")
    embeds = [s for s in everything.values() if s["stream_type"] == "embed"]
    playing = [s for s in embeds if s["is_live"]]
    assert len(embeds) == 2 and len(playing) == 1
    assert playing[0]["embed_url"].endswith("/svc/player.html")
    assert playing[0]["response_time_ms"] == playing[0]["first_frame_ms"] > 0
    assert playing[0]["reason"] == "playing"
    dead = next(s for s in embeds if not s["is_live"])
    assert dead["reason"] == "playback: no video"


def test_hls_records_carry_time_to_first_frame(service: Service) -> None:
    feed = titles(service.json("/streams"))["F1 Race feed"]
    assert feed["first_frame_ms"] > 0 and feed["response_time_ms"] < feed["first_frame_ms"]
    curated = titles(service.json("/streams"))["Hand-picked"]
    assert curated["response_time_ms"] == 0 and curated["first_frame_ms"] is None  # trusted: not verified


def test_verified_through_the_proxy_without_becoming_watched(service: Service) -> None:
    assert service.json("/active") == []
    status = service.json("/extractors")
    assert status["verifier"] == {"enabled": True, "reason": None}
    metrics = service.get("/metrics")[1].decode()
    assert 'slipstream_verifications_total{outcome="playable",reason="none"}' in metrics


def test_verifier_off_keeps_health_verdicts(origin: TestOrigin, tmp_path: Path) -> None:
    path = tmp_path / "slipstream.toml"
    path.write_text(f"""
[schedule]
extract_every = "1h"
[verify]
enabled = false
[proxy]
allow_private_upstreams = true
[[sources]]
type = "curated"
key = "c"
streams = [{{ title = "Pit lane", embed_url = "{origin.url('/svc/empty.html')}" }}]
[[sources]]
type = "lister"
key = "l"
urls = ["{origin.url('/live/ts234/index.m3u8')}"]
""")
    svc = Service(path, tmp_path / "data").start()
    try:
        status = svc.wait_run()
        assert status["verifier"]["enabled"] is False
        assert status["verifier"]["reason"] == "disabled in config"
        live = [s["stream_type"] for s in svc.json("/streams")]
        assert sorted(live) == ["embed", "m3u8"]
    finally:
        svc.stop()
