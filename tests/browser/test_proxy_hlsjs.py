"""hls.js in Chromium plays through the proxy across token expiries without stalling.

The page comes from another origin (a small static server on another port), so the
proxy's CORS headers are exercised as on any real site; the stream's tokens live
20 s and answer 403 after, for playlists and segments alike.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from browser_support import require_browser
from playwright.sync_api import Browser, sync_playwright

from origin import TestOrigin
from service_support import LocalApp, ServiceFactory, http_get, service_fixture
from slipstream.playback.browser import CHROMIUM_FLAGS
from slipstream.playback.locate import find_browser, find_hls_js
from slipstream.proxy.signing import Signer

pytestmark = [pytest.mark.browser, pytest.mark.slow]
__all__ = ["service_fixture"]  # the `service` fixture, shared with tests/integration

TOKEN_TTL_S = 20
PLAY_S = 50             # media played: tokens issued every ~10 s, so 3+ of them expire meanwhile
MAX_STALL_S = 2.0
SECRET = "hlsjs-test-secret-0123456789abcdef"
PAGE = """<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
window.samples = []; window.hlsErrors = [];
window.start = (src) => {
  const video = document.getElementById("v");
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_e, d) => hlsErrors.push({type: d.type, details: d.details, fatal: d.fatal,
                                                      code: d.response ? d.response.code : null,
                                                      reason: String(d.reason || d.error || "")}));
  hls.loadSource(src);
  hls.attachMedia(video);
  video.play().catch(() => {});
  setInterval(() => {
    const q = video.getVideoPlaybackQuality();
    samples.push([performance.now() / 1000, video.currentTime, q.totalVideoFrames]);
  }, 100);
};
// Media played since the first decoded frame (a live stream starts at its window's position).
window.played = () => {
  const first = samples.find(s => s[2] > 0);
  return first ? samples[samples.length - 1][1] - first[1] : 0;
};
</script></body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless system Chromium."""
    require_browser()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=find_browser(""), headless=True,
                                      args=list(CHROMIUM_FLAGS))
        yield chromium
        chromium.close()


def page_app() -> web.Application:
    """The player page and hls.js, served from an origin that is not the service's."""
    hls_js = find_hls_js()
    assert hls_js is not None, "hls.js missing: run `make install` (npm ci)"
    async def page(_: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    async def script(_: web.Request) -> web.FileResponse:
        return web.FileResponse(hls_js)

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/hls.min.js", script)
    return app


def longest_stall(samples: list[list[float]]) -> float:
    """The longest wall-clock span in which currentTime did not move, once playback began."""
    moving = [s for i, s in enumerate(samples) if i and s[1] > samples[i - 1][1]]
    return max((b[0] - a[0] for a, b in zip(moving, moving[1:], strict=False)), default=float("inf"))


def token_expiries(requests: list[tuple[float, str]], stream_id: str) -> dict[int, float]:
    """{upstream token expiry: when the player last fetched a segment carrying it}."""
    signer = Signer(SECRET.encode())
    last: dict[int, float] = {}
    for at, url in requests:
        upstream = signer.verify(stream_id, parse_qs(urlsplit(url).query)["t"][0])
        last[int(parse_qs(urlsplit(upstream).query)["exp"][0])] = at
    return last


def test_hlsjs_plays_through_the_proxy_across_token_expiries(
        service: ServiceFactory, origin: TestOrigin, browser: Browser) -> None:
    tokens = origin.url(f"/tokens/{TOKEN_TTL_S}.m3u")
    svc = service(f'[server]\nsecret = "{SECRET}"\n[proxy]\nallow_private_upstreams = true\n'
                  f'[verify]\nenabled = false\n[[sources]]\ntype = "m3u"\nkey = "tv"\nurl = "{tokens}"\n')
    stream = next(s for s in svc.wait_for_streams(lambda s: len(s) == 3) if s["title"] == "Token master")
    segments: list[tuple[float, str]] = []
    page = browser.new_page()
    page.on("request", lambda r: segments.append((time.time(), r.url)) if "/s/" in r.url else None)
    with LocalApp(page_app()) as site:
        page.goto(site.url("/"))
        page.evaluate("src => start(src)", svc.url(f"/proxy/{stream['id']}/master.m3u8"))
        page.wait_for_function(f"() => played() >= {PLAY_S} || hlsErrors.some(e => e.fatal)",
                               timeout=(PLAY_S + 30) * 1000, polling=500)
    samples: list[list[float]] = page.evaluate("samples")
    errors: list[dict[str, Any]] = page.evaluate("hlsErrors")
    page.close()

    assert not [e for e in errors if e["fatal"] or e["type"] == "networkError"], errors
    first = next(s for s in samples if s[2] > 0)
    frames = samples[-1][2] - first[2]
    assert frames >= 20 * PLAY_S, f"only {frames} frames decoded in {PLAY_S}s of playback"  # 25 fps media
    stall = longest_stall(samples)
    assert stall <= MAX_STALL_S, f"playback stalled for {stall:.1f}s"
    # Tokens the player's segments carried that expired while it went on fetching newer ones.
    expiries = token_expiries(segments, stream["id"])
    outlived = [exp for exp in expiries if exp < max(expiries.values())]
    assert len(outlived) >= 3, f"playback outlived {len(outlived)} token expiries: {expiries}"
    assert http_get(stream["url"])[0] == 403  # the token the service first found is dead
    record = next(a for a in svc.get_json("/active") if a["stream_id"] == stream["id"])
    assert record["refresh_count"] >= 3 and record["current_url"] != record["original_url"], record
