"""`/playlist.m3u` from a running service (uvicorn in a thread), read as players read it."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from origin import TestOrigin
from slipstream.api.app import create_app
from slipstream.api.routes.playlist import SERIES_NAMES
from slipstream.config import build_settings

# Titles as sources write them: quotes and commas (M3U's own delimiters), a line break.
TRICKY = 'Sky "F1", Race: main feed'
CURATED = "Curated onboard\nchannel"
LOGO = "http://logos.test/f1.png"
FORMAT_JS = Path(__file__).resolve().parents[2] / "src" / "slipstream" / "web" / "format.js"


def _sources(origin: TestOrigin) -> list[dict[str, Any]]:
    m3u = "\n".join([
        "#EXTM3U",
        f'#EXTINF:-1 tvg-id="sky.f1" tvg-logo="{LOGO}" group-title="Sports",{TRICKY}',
        origin.url("/~id=m3u-a/live/master.m3u8"),
        '#EXTINF:-1 tvg-logo="javascript:alert(1)",MotoGP World feed',
        origin.url("/~delay=100/~id=m3u-b/live/master.m3u8"),
        "#EXTINF:-1,Dead feed",
        origin.url("/~id=m3u-dead/broken/ts360/index.m3u8"),
    ]) + "\n"
    return [
        {"type": "m3u", "key": "iptv", "name": "IPTV list",
         "url": origin.serve_text("/m3u-test/list.m3u", m3u, "audio/x-mpegurl")},
        {"type": "curated", "key": "curated", "name": "Curated", "streams": [
            {"title": CURATED, "url": origin.url("/~id=m3u-c/live/master-fmp4.m3u8")},
            {"title": "Pit lane embed", "embed_url": origin.url("/m3u-test/embed.html")},
        ]},
    ]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[str, str]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode(), response.headers["Content-Type"]


@pytest.fixture(scope="module")
def m3u_service(origin: TestOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free port, once its first run has found the live streams."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data_dir = str(tmp_path_factory.mktemp("m3u"))
    settings = build_settings({
        "server": {"port": port}, "store": {"kind": "memory", "data_dir": data_dir},
        "health": {"stale_check": False}, "verify": {"enabled": False},
        "proxy": {"allow_private_upstreams": True}, "sources": _sources(origin),
    })
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 40
    while not (server.started and len(json.loads(_get(base + "/streams")[0])) >= 4):
        assert time.monotonic() < deadline and thread.is_alive(), "the service never served its streams"
        time.sleep(0.2)  # polling another thread's server with a deadline
    yield base
    server.should_exit = True
    thread.join(timeout=15)


def entries(text: str) -> list[tuple[dict[str, str], str, str]]:
    """(attributes, title, url) of each #EXTINF entry, parsed strictly."""
    lines = text.split("\n")
    assert lines[0] == "#EXTM3U" and lines[-1] == "", text
    body = lines[1:-1]
    assert len(body) % 2 == 0, text
    out = []
    for info, url in zip(body[::2], body[1::2], strict=True):
        match = re.fullmatch(r'#EXTINF:-1((?: [a-z-]+="[^"]*")*),([^,"]*)', info)
        assert match, f"unparseable line: {info!r}"
        attrs = dict(re.findall(r' ([a-z-]+)="([^"]*)"', match.group(1)))
        out.append((attrs, match.group(2), url))
    return out


def cleaned(title: str) -> str:
    """The title as the playlist must carry it: one line, no comma or double quote."""
    return " ".join(title.split()).replace(",", "\u201a").replace('"', "'")


def test_playlist_lists_live_hls_streams_as_absolute_proxy_urls(m3u_service: str) -> None:
    text, content_type = _get(m3u_service + "/playlist.m3u")
    assert content_type.startswith("audio/x-mpegurl")
    live = json.loads(_get(m3u_service + "/streams")[0])
    hls = [s for s in live if s["stream_type"] == "m3u8"]
    assert {s["title"] for s in live} - {s["title"] for s in hls} == {"Pit lane embed"}
    found = entries(text)
    assert [url for _, _, url in found] == [f"{m3u_service}/proxy/{s['id']}/master.m3u8" for s in hls]
    assert [title for _, title, _ in found] == [cleaned(s["title"]) for s in hls]
    assert "Dead feed" not in text and "Pit lane" not in text
    by_title = {title: attrs for attrs, title, _ in found}
    sky = by_title[cleaned(TRICKY)]
    assert sky == {"tvg-id": "sky.f1", "tvg-name": "Sky 'F1'\u201a Race: main feed",
                   "group-title": "F1", "tvg-logo": LOGO}
    motogp = by_title["MotoGP World feed"]
    assert "tvg-logo" not in motogp and motogp["group-title"] == "MotoGP"
    curated = by_title["Curated onboard channel"]
    assert curated["group-title"] == "Curated"  # no series: the source's name groups it
    assert curated["tvg-id"] == next(s["id"] for s in hls if s["site_key"] == "curated")


def test_playlist_groups_by_the_series_names_the_web_page_shows() -> None:
    """One series, one name: a player's folders read like the page's tags (web/format.js)."""
    table = re.search(r"const SERIES_NAMES = \{(.*?)\};", FORMAT_JS.read_text(), re.DOTALL)
    assert table, "format.js no longer has its SERIES_NAMES table"
    pairs = re.findall(r'(?:"([^"]+)"|([\w-]+)): "([^"]+)"', table[1])
    page = {key or bare: name for key, bare, name in pairs}
    assert len(page) > 10, page
    assert page == SERIES_NAMES


def test_playlist_urls_use_the_address_the_client_used(m3u_service: str) -> None:
    text, _ = _get(m3u_service + "/playlist.m3u", {"Host": "tv.lan:8123"})
    urls = [url for _, _, url in entries(text)]
    assert len(urls) == 3
    assert all(re.fullmatch(r"http://tv\.lan:8123/proxy/[0-9a-f]+/master\.m3u8", u) for u in urls), urls


def test_ffmpeg_reads_ten_seconds_from_the_first_entry(m3u_service: str) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    first = entries(_get(m3u_service + "/playlist.m3u")[0])[0][2]
    done = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", first, "-t", "10", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    times = re.findall(r"time=(\d+):(\d+):(\d+\.\d+)", done.stderr)
    assert times, done.stderr[-2000:]
    h, m, s = times[-1]
    assert int(h) * 3600 + int(m) * 60 + float(s) >= 9.5, done.stderr[-2000:]
    assert re.search(r"Stream #0:\d+.*Video: h264", done.stderr), done.stderr[-2000:]
