"""The watching proxy end to end: a real service, the local origin, ffmpeg as the player.

Tokens on the origin's `/~token/...` paths expire (403 after), and the M3U at
`/tokens/{ttl}.m3u` hands out fresh ones on every fetch, so the service's token
refresher has real work to do while the players run. A small misbehaving upstream
(`Cdn`) covers what the origin cannot do: hop-by-hop headers, endless bodies.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

from origin import TestOrigin
from service_support import LocalApp, ServiceFactory, ServiceHandle, http_get
from slipstream.hls.rewrite import rewrite_master
from slipstream.proxy.signing import Signer
from slipstream.proxy.stable import StableSigner

TOKEN_TTL_S = 20
PLAY_S = 75
SECRET = "e2e-proxy-secret-0123456789abcdef"
CHUNK = b"\x47" + bytes(64 * 1024 - 1)
SOURCE_REFERER = "http://referer.test/watch"


def config(*sources: str, extra: str = "") -> str:
    """A service config: access log on, private upstreams allowed (all local), no browser, m3u by URL."""
    tables = "".join(f'[[sources]]\ntype = "m3u"\nkey = "tv{i}"\nurl = "{url}"\n'
                     for i, url in enumerate(sources))
    return (f'[server]\nsecret = "{SECRET}"\naccess_log = true\n[proxy]\nallow_private_upstreams = true\n'
            f"[verify]\nenabled = false\n{extra}{tables}")


def by_title(streams: list[dict[str, Any]], title: str) -> str:
    """The id of the listed stream with this title."""
    return next(s["id"] for s in streams if s["title"] == title)


def active(svc: ServiceHandle) -> dict[str, dict[str, Any]]:
    """GET /active as {stream_id: record}."""
    return {a["stream_id"]: a for a in svc.get_json("/active")}


def proxy_lines(body: bytes) -> list[str]:
    """The proxy URLs a rewritten playlist hands the player."""
    return [line for line in body.decode().splitlines() if line.startswith("/proxy/")]


def wait_until(check: Any, timeout: float, what: str) -> None:
    """Poll `check()` until true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


# --- ffmpeg across token expiries ----------------------------------------------------------


def ffmpeg(url: str, progress: Path, seconds: int) -> subprocess.Popen[str]:
    """ffmpeg reading `seconds` of `url` into the null muxer, reporting progress to a file."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-progress", str(progress),
           "-i", url, "-t", str(seconds), "-c", "copy", "-f", "null", "-"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def seconds_read(progress: Path) -> float:
    """The last out_time ffmpeg reported, in seconds."""
    times = re.findall(r"^out_time_us=(\d+)$", progress.read_text(), re.MULTILINE)
    return int(times[-1]) / 1e6 if times else 0.0


@pytest.mark.slow
def test_ffmpeg_plays_master_and_variant_across_token_expiries(
        service: ServiceFactory, origin: TestOrigin, tmp_path: Path) -> None:
    # Two services, so the variant-only player's stream is watched by nothing else: its
    # master is never fetched through its service's proxy, only the variant URL.
    svc, lone = (service(config(origin.url(f"/tokens/{TOKEN_TTL_S}.m3u"))) for _ in range(2))
    master_id = by_title(svc.wait_for_streams(lambda s: len(s) == 3), "Token master")
    assert by_title(lone.wait_for_streams(lambda s: len(s) == 3), "Token master") == master_id
    status, _, body = http_get(svc.url(f"/proxy/{master_id}/master.m3u8"))
    assert status == 200, body
    variant_path = proxy_lines(body)[0]
    assert re.fullmatch(rf"/proxy/{master_id}/v/[^/]+\.m3u8", variant_path)
    players = {"master": ffmpeg(svc.url(f"/proxy/{master_id}/master.m3u8"), tmp_path / "m", PLAY_S),
               "variant": ffmpeg(lone.url(variant_path), tmp_path / "v", PLAY_S)}
    errors = {name: p.communicate(timeout=PLAY_S + 40)[1] for name, p in players.items()}
    for name, player in players.items():
        assert player.returncode == 0, f"{name}: ffmpeg exited {player.returncode}: {errors[name]}"
        # ffmpeg skips a segment it cannot open and goes on: any HTTP error is a failure here.
        assert not re.search(r"HTTP error|Failed to|Server returned", errors[name]), f"{name}: {errors[name]}"
        read = seconds_read(tmp_path / name[0])
        assert read >= PLAY_S - 5, f"{name}: ffmpeg read only {read:.1f}s"
    for server in (svc, lone):
        record = active(server)[master_id]
        assert record["refresh_count"] >= 3, record
        assert record["current_url"] != record["original_url"], record
        assert record["last_error"] is None, record


# --- a 401/403/410 on a playlist: one refresh, one retry -------------------------------------

REFUSALS = [401, 403, 410]


def refused(origin: TestOrigin, status: int, path: str) -> str:
    """An upstream URL for the origin's `path` that the CDN refuses with `status`.

    403 is what the origin's ~token answers for an expired token (one revoked here); its
    tokens never expire into a 401 or 410, so those come from its ~status=N prefix.
    """
    if status == 403:
        url = origin.token_url(path, 300)
        origin.revoke(url)
        return url
    return origin.url(f"/~status={status}{path}")


def master_refusing_variants(origin: TestOrigin, status: int, path: str) -> str:
    """Serve at `path` the origin's live master with every variant refused with `status`; its URL."""
    lines = http_get(origin.url("/live/master.m3u8"))[2].decode().splitlines()
    assert not any("URI=" in line for line in lines)  # variant lines are its only URIs
    body = [line if not line or line.startswith("#") else refused(origin, status, f"/live/{line}")
            for line in lines]
    return origin.serve_text(path, "\n".join(body) + "\n", "application/vnd.apple.mpegurl")


def race(url: str) -> str:
    """The CDN's M3U: one stream, Race, at `url`."""
    return f"#EXTM3U\n#EXTINF:-1,Race\n{url}\n"


@pytest.mark.parametrize("status", REFUSALS)
def test_refused_master_refreshes_once_and_retries(service: ServiceFactory, origin: TestOrigin,
                                                   status: int) -> None:
    list_path = f"/e2e/expiring-{status}.m3u"
    # The CDN's list hands out a URL that the CDN refuses by the time a player comes.
    stale = refused(origin, status, "/live/master.m3u8")
    origin.serve_text(list_path, race(stale))
    svc = service(config(origin.url(list_path)))
    stream = svc.wait_for_streams(lambda s: len(s) == 1, "/streams/all")[0]
    assert http_get(stream["url"])[0] == status
    fresh_url = origin.token_url("/~id=fresh/live/master.m3u8", 600)  # what the CDN hands out now
    origin.serve_text(list_path, race(fresh_url))
    stale_path, fresh_path = urlsplit(stale).path, urlsplit(fresh_url).path
    lists, stales, freshes = origin.hits(list_path), origin.hits(stale_path), origin.hits(fresh_path)
    proxy_master = svc.url(f"/proxy/{stream['id']}/master.m3u8")
    # A slow CDN (1 s a response) keeps the refresh in flight while all four players
    # meet their refusal, so the count below does not depend on how fast requests arrive.
    origin.set_latency(1.0)
    with ThreadPoolExecutor(4) as pool:  # four players ask at once
        answers = list(pool.map(http_get, [proxy_master] * 4))
    for answer, _, body in answers:
        assert answer == 200, body
        assert len(proxy_lines(body)) == 2  # both variants, rewritten
    assert origin.hits(list_path) - lists == 1  # one extractor run for all four
    # Each player: one refusal, one retry on the fresh URL.
    assert (origin.hits(stale_path) - stales, origin.hits(fresh_path) - freshes) == (4, 4)
    record = active(svc)[stream["id"]]
    assert (record["original_url"], record["current_url"]) == (stream["url"], fresh_url)
    assert record["refresh_count"] == 1 and record["last_error"] is None
    assert f"upstream {status}" in svc.log(100)
    metrics = http_get(svc.url("/metrics"))[2].decode()
    assert 'slipstream_token_refreshes_total{outcome="refreshed"} 1.0' in metrics
    assert f'slipstream_proxy_upstream_errors_total{{status="{status}"}} 4.0' in metrics
    assert 'slipstream_proxy_requests_total{kind="master",status="200"} 4.0' in metrics
    assert "slipstream_watched_streams 1.0" in metrics


def watching(svc: ServiceHandle) -> tuple[str, str]:
    """(stream id, first variant's proxy path) once a player has fetched the master."""
    stream_id = svc_stream(svc)
    status, _, body = http_get(svc.url(f"/proxy/{stream_id}/master.m3u8"))
    assert status == 200, body
    return stream_id, proxy_lines(body)[0]


def svc_stream(svc: ServiceHandle) -> str:
    """The id of the service's only stream, live or not."""
    return str(svc.wait_for_streams(lambda s: len(s) == 1, "/streams/all")[0]["id"])


@pytest.mark.parametrize("status", REFUSALS)
def test_refused_variant_refreshes_once_and_retries(service: ServiceFactory, origin: TestOrigin,
                                                    status: int) -> None:
    list_path = f"/e2e/variant-{status}.m3u"
    stale = master_refusing_variants(origin, status, f"/e2e/variant-{status}/master.m3u8")
    origin.serve_text(list_path, race(stale))
    svc = service(config(origin.url(list_path)))
    stream_id, variant = watching(svc)
    fresh_url = origin.token_url("/~id=fresh/live/master.m3u8", 600)
    origin.serve_text(list_path, race(fresh_url))
    lists, freshes = origin.hits(list_path), origin.hits("/~token/~id=fresh/")
    # The player reloads its variant: the CDN refuses it, the proxy refreshes and retries.
    answer, _, body = http_get(svc.url(variant))
    assert answer == 200, body
    segments = proxy_lines(body)
    assert segments and all(line.startswith(f"/proxy/{stream_id}/s/") for line in segments), body
    assert origin.hits(list_path) - lists == 1  # one extractor run
    assert origin.hits("/~token/~id=fresh/") - freshes == 2  # the fresh master, then its variant
    played = http_get(svc.url(segments[-1]))
    assert (played[0], played[2][:1]) == (200, b"\x47")  # and the fresh token plays
    record = active(svc)[stream_id]
    assert (record["current_url"], record["refresh_count"], record["last_error"]) == (fresh_url, 1, None)
    metrics = http_get(svc.url("/metrics"))[2].decode()
    assert f'slipstream_proxy_upstream_errors_total{{status="{status}"}} 1.0' in metrics
    assert 'slipstream_proxy_requests_total{kind="variant",status="200"} 1.0' in metrics


@pytest.mark.parametrize("status", REFUSALS)
def test_refused_variant_then_refused_master_costs_one_extractor_run(
        service: ServiceFactory, origin: TestOrigin, status: int) -> None:
    list_path = f"/e2e/hopeless-{status}.m3u"
    stale = master_refusing_variants(origin, status, f"/e2e/hopeless-{status}/master.m3u8")
    origin.serve_text(list_path, race(stale))
    svc = service(config(origin.url(list_path)))
    stream_id, variant = watching(svc)
    # The CDN's list now hands out a master that it refuses too: refreshing cannot help.
    origin.serve_text(list_path, race(refused(origin, status, "/~id=also/live/master.m3u8")))
    lists = origin.hits(list_path)
    answer, _, body = http_get(svc.url(variant))
    assert (answer, json.loads(body)) == (502, {"error": "UpstreamStatus", "detail": f"http {status}"})
    assert origin.hits(list_path) - lists == 1, "one failed reload re-ran the extractor more than once"
    assert active(svc)[stream_id]["refresh_count"] == 1


@pytest.mark.parametrize("status", REFUSALS)
def test_refused_master_then_refused_variant_costs_one_extractor_run(
        service: ServiceFactory, origin: TestOrigin, status: int) -> None:
    list_path = f"/e2e/late-{status}.m3u"
    live = http_get(origin.url("/live/master.m3u8"))[2].decode()
    origin.serve_text(list_path, race(refused(origin, status, "/~id=late/live/master.m3u8")))
    svc = service(config(origin.url(list_path)))
    stream_id = svc_stream(svc)
    # A variant-only player (it fetched the master in an earlier session): the variant key is
    # stable, so its URL is the one the rewriter gives for the live master.
    rewritten = rewrite_master(live, origin.url("/live/master.m3u8"), stream_id,
                               StableSigner(Signer(SECRET.encode())))
    variant = proxy_lines(rewritten.encode())[0]
    # The CDN's list now hands out a master whose variants it refuses.
    origin.serve_text(list_path, race(master_refusing_variants(origin, status, f"/e2e/late-{status}/m.m3u8")))
    lists = origin.hits(list_path)
    answer, _, body = http_get(svc.url(variant))
    assert (answer, json.loads(body)) == (502, {"error": "UpstreamStatus", "detail": f"http {status}"})
    assert origin.hits(list_path) - lists == 1, "one failed reload re-ran the extractor more than once"
    assert active(svc)[stream_id]["refresh_count"] == 1


# --- idle streams stop being watched ----------------------------------------------------------


def test_no_proxy_traffic_for_idle_after_ends_watching(service: ServiceFactory, origin: TestOrigin) -> None:
    svc = service(config(origin.url("/tokens/300.m3u"), extra='[schedule]\nidle_after = "3s"\n'))
    sid = by_title(svc.wait_for_streams(lambda s: len(s) == 3), "Token master")
    status, _, body = http_get(svc.url(f"/streams/{sid}/watch"), method="POST")
    assert status == 200, body
    variant = proxy_lines(http_get(svc.url(f"/proxy/{sid}/master.m3u8"))[2])[0]
    started = time.monotonic()
    while time.monotonic() - started < 5:  # a player reloading for longer than idle_after
        assert http_get(svc.url(variant))[0] == 200
        assert sid in active(svc), "dropped while a player was reloading"
        time.sleep(1)  # the player's reload interval
    went_quiet = time.monotonic()
    wait_until(lambda: sid not in active(svc), 15, "the idle stream to be dropped")
    assert time.monotonic() - went_quiet >= 2.5
    assert "no proxy traffic" in svc.log(200)


def test_unwatch_drops_the_stream(service: ServiceFactory, origin: TestOrigin) -> None:
    svc = service(config(origin.url("/tokens/300.m3u")))
    sid = by_title(svc.wait_for_streams(lambda s: len(s) == 3), "Token master")
    status, _, body = http_get(svc.url(f"/streams/{sid}/watch"), method="POST")
    assert (status, body.count(f"/proxy/{sid}/master.m3u8".encode())) == (200, 1)
    assert sid in active(svc)
    assert http_get(svc.url(f"/streams/{sid}/watch"), method="DELETE")[0] == 204
    assert active(svc) == {}
    assert http_get(svc.url("/streams/nope/watch"), method="POST")[0] == 404


# --- a misbehaving upstream: headers, endless bodies ------------------------------------------


@dataclass
class Seen:
    """One request the Cdn answered."""

    path: str
    headers: dict[str, str]
    sent: int = 0
    reset: bool = False   # the client went away mid-body
    done: threading.Event = field(default_factory=threading.Event)


class Cdn:
    """An upstream that misbehaves on purpose: hop-by-hop and private headers, endless bodies."""

    HEADERS = {"Keep-Alive": "timeout=99", "Proxy-Authenticate": 'Basic realm="cdn"',
               "Proxy-Connection": "keep-alive", "Set-Cookie": "cdn_session=secret",
               "X-Cache": "HIT from edge-7", "Server": "secret-cdn/1.0",
               "ETag": '"seg-1"', "Accept-Ranges": "bytes"}

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.app = web.Application()
        self.app.router.add_get("/hop/index.m3u8", self._hop_playlist)
        self.app.router.add_get("/hop/seg.ts", self._hop_segment)
        self.app.router.add_get("/endless/{name}.ts", self._endless_segment)
        self.app.router.add_get("/big/index.m3u8", self._endless_playlist)
        self.app.router.add_get("/ll/master.m3u8", self._ll_master)
        self.app.router.add_get("/ll/media.m3u8", self._ll_media)
        self.queries: list[dict[str, str]] = []

    def requests(self, path: str) -> list[Seen]:
        """Requests for one path, oldest first."""
        return [s for s in self.seen if s.path == path]

    def _note(self, request: web.Request) -> Seen:
        seen = Seen(request.path, {k.lower(): v for k, v in request.headers.items()})
        self.seen.append(seen)
        return seen

    async def _hop_playlist(self, request: web.Request) -> web.Response:
        self._note(request).done.set()
        body = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg.ts\n#EXT-X-ENDLIST\n"
        return web.Response(text=body, content_type="application/vnd.apple.mpegurl")

    async def _ll_master(self, request: web.Request) -> web.Response:
        self._note(request).done.set()
        body = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nmedia.m3u8?token=abc\n"
        return web.Response(text=body, content_type="application/vnd.apple.mpegurl")

    async def _ll_media(self, request: web.Request) -> web.Response:
        self._note(request).done.set()
        self.queries.append(dict(request.query))
        body = ("#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0\n"
                "#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-MEDIA-SEQUENCE:42\n#EXTINF:2.0,\nseg.ts\n")
        return web.Response(text=body, content_type="application/vnd.apple.mpegurl")

    async def _hop_segment(self, request: web.Request) -> web.Response:
        self._note(request).done.set()
        return web.Response(body=CHUNK, headers={**self.HEADERS, "Content-Type": "video/mp2t"})

    async def _endless_segment(self, request: web.Request) -> web.StreamResponse:
        return await self._endless(request, CHUNK, "video/mp2t", pause=0.01)

    async def _endless_playlist(self, request: web.Request) -> web.StreamResponse:
        lines = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n" + b"#EXTINF:2.0,\nx.ts\n" * 4000
        return await self._endless(request, lines, "application/vnd.apple.mpegurl")

    async def _endless(self, request: web.Request, chunk: bytes, content_type: str,
                       pause: float = 0.0) -> web.StreamResponse:
        """A body that goes on for 30 s unless the client goes away; records which happened."""
        seen = self._note(request)
        resp = web.StreamResponse(headers={"Content-Type": content_type})
        await resp.prepare(request)
        ends = asyncio.get_running_loop().time() + 30
        try:
            while asyncio.get_running_loop().time() < ends:
                await resp.write(chunk)
                seen.sent += len(chunk)
                await asyncio.sleep(pause)
        except ConnectionError:
            seen.reset = True
        finally:
            seen.done.set()
        return resp


@pytest.fixture(scope="module")
def cdn_service(module_service: ServiceFactory, origin: TestOrigin) -> Any:
    """(service, cdn, stream ids by title): the origin's live master and the Cdn's streams."""
    cdn = Cdn()
    with LocalApp(cdn.app) as app:
        listing = (f"#EXTM3U\n#EXTINF:-1,Live\n{origin.url('/live/master.m3u8')}\n"
                   f"#EXTINF:-1,Hop\n#EXTVLCOPT:http-referrer={SOURCE_REFERER}\n{app.url('/hop/index.m3u8')}\n"
                   f"#EXTINF:-1,Big\n{app.url('/big/index.m3u8')}\n"
                   f"#EXTINF:-1,LL\n{app.url('/ll/master.m3u8')}\n"
                   f"#EXTINF:-1,LL media\n{app.url('/ll/media.m3u8?token=abc')}\n")
        svc = module_service(config(origin.serve_text("/e2e/cdn.m3u", listing)))
        streams = svc.wait_for_streams(lambda s: len(s) == 5 and all(x["reason"] for x in s), "/streams/all")
        yield svc, cdn, app, {s["title"]: s["id"] for s in streams}


def test_range_is_forwarded_and_206_passes_through(cdn_service: Any, origin: TestOrigin) -> None:
    svc, _, _, ids = cdn_service
    variant = proxy_lines(http_get(svc.url(f"/proxy/{ids['Live']}/master.m3u8"))[2])[0]
    segment = proxy_lines(http_get(svc.url(variant))[2])[0]
    status, headers, body = http_get(svc.url(segment), headers={"Range": "bytes=100-1099"})
    assert status == 206, body[:200]
    assert re.fullmatch(r"/proxy/\w+/s/[\w-]+\.ts\?t=[\w-]+", segment), segment
    upstream = Signer(SECRET.encode()).verify(ids["Live"], parse_qs(urlsplit(segment).query)["t"][0])
    direct = http_get(upstream, headers={"Range": "bytes=100-1099"})
    assert body == direct[2] and len(body) == 1000
    assert headers["content-range"] == direct[1]["content-range"]
    assert headers["content-type"] == "video/mp2t"
    metrics = http_get(svc.url("/metrics"))[2].decode()
    assert metric(metrics, 'slipstream_proxy_requests_total{kind="segment",status="206"}') >= 1
    assert metric(metrics, "slipstream_proxy_bytes_total") >= 1000


def metric(text: str, name: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_headers_hop_by_hop_and_private_ones_stay_behind(cdn_service: Any) -> None:
    svc, cdn, _, ids = cdn_service
    status, headers, body = http_get(svc.url(f"/proxy/{ids['Hop']}/master.m3u8"))
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"  # browsers on another origin may read it
    player_headers = {"Cookie": "player=1", "Authorization": "Bearer player-secret",
                      "Proxy-Authorization": "Basic eA==", "X-Forwarded-For": "203.0.113.9"}
    status, headers, body = http_get(svc.url(proxy_lines(body)[0]), headers=player_headers)
    assert (status, body) == (200, CHUNK)
    for name in ("keep-alive", "proxy-authenticate", "proxy-connection", "set-cookie", "x-cache"):
        assert name not in headers, f"{name} passed through: {headers}"
    assert headers["server"] != "secret-cdn/1.0"
    assert (headers["etag"], headers["accept-ranges"], headers["content-type"]) == ('"seg-1"', "bytes",
                                                                                    "video/mp2t")
    assert headers["access-control-allow-origin"] == "*"
    log = svc.log(1000)
    assert "master.m3u8" in log and "/s/" not in log  # segment requests stay out of the access log
    sent = cdn.requests("/hop/seg.ts")[-1].headers
    assert sent.get("referer") == SOURCE_REFERER  # the source's headers go upstream
    for name in ("cookie", "authorization", "proxy-authorization", "x-forwarded-for"):
        assert name not in sent, f"the player's {name} reached the upstream"


def test_cors_preflight_for_range_is_answered_and_fetches_nothing(cdn_service: Any,
                                                                  origin: TestOrigin) -> None:
    svc, cdn, _, ids = cdn_service
    variant = proxy_lines(http_get(svc.url(f"/proxy/{ids['Live']}/master.m3u8"))[2])[0]
    segment = proxy_lines(http_get(svc.url(variant))[2])[0]
    # What a browser sends before a cross-origin player's `Range` request.
    asking = {"Origin": "https://player.example", "Access-Control-Request-Method": "GET",
              "Access-Control-Request-Headers": "range, x-player-session, bad name, (evil)"}
    paths = {"master": f"/proxy/{ids['Live']}/master.m3u8", "variant": variant, "segment": segment,
             "other stream's master": f"/proxy/{ids['Hop']}/master.m3u8",
             "badly signed segment": f"/proxy/{ids['Live']}/s/AAAAAAAAAAAAAAAAAAAAAAAA.ts?t=bogus",
             "unknown stream": "/proxy/0123456789abcdef/master.m3u8"}
    live, hop = origin.hits("/live/"), len(cdn.seen)
    for case, path in paths.items():
        status, headers, body = http_get(svc.url(path), headers=asking, method="OPTIONS")
        assert (status, body) == (204, b""), f"{case}: {status} {body[:200]!r}"
        assert headers["access-control-allow-origin"] == "*", case
        assert headers["access-control-allow-methods"] == "GET, OPTIONS", case
        # The player's own header is allowed; names that are not header tokens are not echoed.
        assert headers["access-control-allow-headers"] == "range, x-player-session", case
        assert int(headers["access-control-max-age"]) >= 600, case
    assert (origin.hits("/live/"), len(cdn.seen)) == (live, hop), "a preflight reached an upstream"
    bare = http_get(svc.url(segment), headers={"Origin": "https://player.example"}, method="OPTIONS")
    assert (bare[0], bare[1]["access-control-allow-headers"]) == (204, "range")
    # The request the preflight allowed: the range arrives, readable by the page.
    status, headers, body = http_get(svc.url(segment), headers={"Origin": "https://player.example",
                                                                "Range": "bytes=0-187"})
    assert (status, len(body)) == (206, 188), body[:200]
    assert headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in headers["access-control-expose-headers"]


def test_player_going_away_mid_segment_cancels_the_upstream_fetch(cdn_service: Any) -> None:
    svc, cdn, app, ids = cdn_service
    path = Signer(SECRET.encode()).sign(ids["Hop"], app.url("/endless/gone.ts"))
    conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    assert resp.status == 200 and resp.read(256 * 1024)[:1] == b"\x47"
    conn.close()  # the player goes away mid-segment
    seen = cdn.requests("/endless/gone.ts")[-1]
    assert seen.done.wait(10), "the upstream body kept flowing after the player left"
    assert seen.reset


def test_huge_playlist_is_refused_without_being_read_whole(cdn_service: Any) -> None:
    svc, cdn, _, ids = cdn_service
    before = len(cdn.requests("/big/index.m3u8"))
    status, headers, body = http_get(svc.url(f"/proxy/{ids['Big']}/master.m3u8"), timeout=20)
    assert status == 502 and b"too large" in body, body[:300]
    seen = cdn.requests("/big/index.m3u8")[before]
    assert seen.done.wait(10) and seen.reset, "the proxy kept reading the endless playlist"
    assert seen.sent < 64 * 1024 * 1024  # a 2 MB cap; the rest is socket buffers


def test_low_latency_delivery_directives_reach_the_origin(cdn_service: Any) -> None:
    svc, cdn, _, ids = cdn_service
    variant = proxy_lines(http_get(svc.url(f"/proxy/{ids['LL']}/master.m3u8"))[2])[0]
    status, _, body = http_get(svc.url(variant + "?_HLS_msn=43&_HLS_part=2&player=x"))
    assert status == 200 and b"CAN-BLOCK-RELOAD=YES" in body, body
    assert cdn.queries[-1] == {"token": "abc", "_HLS_msn": "43", "_HLS_part": "2"}
    assert http_get(svc.url(variant))[0] == 200
    assert cdn.queries[-1] == {"token": "abc"}  # an ordinary reload asks for nothing more


def test_blocking_reload_of_a_media_playlist_stream_reaches_the_origin(cdn_service: Any) -> None:
    svc, cdn, _, ids = cdn_service
    own = svc.url(f"/proxy/{ids['LL media']}/master.m3u8")  # the stream's URL is the media playlist
    status, _, body = http_get(own + "?_HLS_msn=43&_HLS_part=2&player=x")
    assert status == 200 and b"CAN-BLOCK-RELOAD=YES" in body, body
    assert cdn.queries[-1] == {"token": "abc", "_HLS_msn": "43", "_HLS_part": "2"}
    assert http_get(own)[0] == 200
    assert cdn.queries[-1] == {"token": "abc"}
