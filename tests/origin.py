"""The local HLS origin for tests: real H.264/AAC live HLS on 127.0.0.1 with faults on demand.

Built on the demo origin's HlsSite (src/slipstream/demo/origin.py); it runs in its own
thread and event loop, so sync tests, subprocesses and async tests on any loop can use it.
Get it from the `origin` fixture (tests/conftest.py); `origin.url(path)` makes absolute URLs.

Streams (`mode` is `live`, `vod` or `broken`; one loop is `origin.loop` segments of 2 s):

| path | what |
|---|---|
| /live/master.m3u8 | master: ts360 (640x360) + ts234 (416x234), TS, muxed AAC |
| /live/master-audio.m3u8 | master: video-only TS variant + EXT-X-MEDIA TYPE=AUDIO (URI: packed .aac) |
| /live/master-fmp4.m3u8 | master: one fMP4 variant |
| /live/master-hevc.m3u8 | master: HEVC TS + H.264 TS variants (404 when ffmpeg has no libx265) |
| /live/master-aes.m3u8 | master: one AES-128 variant |
| /live/{r}/index.m3u8 | live media playlist: 6 segments, sequence = floor(elapsed / 2 s), |
|   | EXT-X-DISCONTINUITY at each wrap of the loop. r = ts360, ts234, video360 (no audio), |
|   | fmp4 (EXT-X-MAP), audio (packed .aac), aes (EXT-X-KEY AES-128 + IV), hevc |
| /live/{r}/{k}.ts .m4s .aac, /live/fmp4/init.mp4, /live/aes/key.key | segments (Range supported), init, key |
| /vod/... | the same as VOD: whole loop, PLAYLIST-TYPE:VOD, EXT-X-ENDLIST |
| /broken/{r}/index.m3u8 | live playlist whose segments all answer 404 |
| /many/{i}/index.m3u8 | i = any integer: distinct live ts360 streams (segments /many/{i}/{k}.ts) |
| /huge/{mb}.m3u8 | a media playlist of `mb` MB streamed in chunks (never built in memory) |
| /tokens/{ttl}.m3u | an M3U whose entries carry tokens valid `ttl` s, fresh on every fetch |
| any path given to `origin.serve_text(path, body, content_type)` | that body (also below fault prefixes) |

Faults are path prefixes (`~name` or `~name=value`), combinable, and apply to
everything below them, since playlists use relative URIs; e.g. `/~delay=500/~stale/live/ts360/index.m3u8`.

| prefix | effect |
|---|---|
| ~stale | live media sequence frozen at 0 (plus any ~shift) |
| ~shift=N | live window moved N segments ahead (~shift=21 straddles the loop's wrap) |
| ~seg404 | segments, init and key answer 404; playlists are fine |
| ~garbage | segments answer random bytes (right extension and Content-Type) |
| ~html | every .m3u8 answers an HTML page (200 text/html) |
| ~delay=MS | every response waits MS milliseconds first |
| ~status=N | every response is HTTP N with a short text body |
| ~redirect=N | N 302 redirects before the real response |
| ~loop | 302 redirects forever (alternating ~loop and ~loop=1) |
| ~referer | 403 unless `Referer: origin.REFERER` is sent |
| ~ua | 403 unless `User-Agent: origin.USER_AGENT` is sent |
| ~token | 403 unless the query carries a valid, unexpired `exp`/`sig` token (token_url); |
|   | every URI in its playlists carries the request's token, so segments expire too; |
|   | `revoke(url)` makes a token fail before its time |
| ~id=X | no effect: makes a distinct URL (e.g. to kill just that one) |

The object (`from origin import TestOrigin, REFERER, USER_AGENT`):
`base_url`, `url(path)`, `token_url(path, ttl=30)` (path behind ~token with a fresh token),
`revoke(url)` (that URL's token is refused from now on, as a CDN does once it expires),
`serve_text(path, body, content_type="text/plain") -> url`, `hits(prefix="/")` (requests
seen whose path starts with prefix), `media` (the MediaSet), `loop` (segments per loop).
Known limit: ffmpeg's HLS demuxer never completes `-t N` on /live/master-audio.m3u8 while
the window straddles the loop's wrap (the packed-audio timestamps reset); start such tests
at the top of a loop with ~shift. Muxed TS/fMP4 play across the wrap.

Runtime switches, reset after every test by tests/conftest.py: `kill(prefix)` / `revive(prefix)`
(404 for request paths starting with prefix), `set_latency(seconds)` (added to every response).
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from origin_faults import (
    HTML_PAGE,
    REFERER,
    USER_AGENT,
    Mods,
    OriginState,
    guard,
    huge_playlist,
    media_fault,
    split_mods,
    token_list,
)
from slipstream.demo.media import MediaSet
from slipstream.demo.origin import HlsSite

__all__ = ["REFERER", "USER_AGENT", "TestOrigin"]


class TestOrigin:
    """The test origin server, running in a background thread with its own event loop."""

    __test__ = False  # not a pytest test class
    REFERER = REFERER
    USER_AGENT = USER_AGENT

    def __init__(self, media: MediaSet) -> None:
        self.media = media
        self.site = HlsSite(media)
        self.state = OriginState()
        self.base_url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-origin", daemon=True)

    @property
    def loop(self) -> int:
        """Segments in one media loop."""
        return self.site.loop

    def start(self) -> TestOrigin:
        """Bind 127.0.0.1 on a free port and serve from the background thread."""
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self.base_url = future.result(timeout=30)
        return self

    async def _start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def close(self) -> None:
        """Stop serving and end the thread."""
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)

    # --- what tests call -------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of `path` (which starts with /)."""
        return self.base_url + path

    def token_url(self, path: str, ttl: float = 30.0) -> str:
        """The URL of `path` behind ~token, with a token valid for `ttl` seconds."""
        return self.url("/~token" + path) + self.state.token_query(ttl)

    def revoke(self, url: str) -> None:
        """Refuse the token in `url` from now on: an expiry on demand, at no wall-clock cost."""
        self.state.revoked.add(parse_qs(urlsplit(url).query)["exp"][0])

    def serve_text(self, path: str, body: str | bytes, content_type: str = "text/plain") -> str:
        """Serve `body` at `path` from now on; returns its URL."""
        data = body.encode() if isinstance(body, str) else body
        self.state.texts[path] = (data, content_type)
        return self.url(path)

    def kill(self, prefix: str) -> None:
        """Answer 404 to every request whose path starts with `prefix`, until revived."""
        self.state.killed.add(prefix)

    def revive(self, prefix: str) -> None:
        """Undo `kill(prefix)`."""
        self.state.killed.discard(prefix)

    def set_latency(self, seconds: float) -> None:
        """Delay every response by `seconds` (for benchmarks)."""
        self.state.latency = seconds

    def hits(self, prefix: str = "/") -> int:
        """How many requests had a path starting with `prefix`."""
        return sum(1 for path in list(self.state.paths) if path.startswith(prefix))

    def reset(self) -> None:
        """Clear per-test switches: killed paths and latency (served texts stay)."""
        self.state.killed.clear()
        self.state.latency = 0.0

    # --- serving ---------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.state.paths.append(request.path)
        mods, rest = split_mods(request.path.strip("/").split("/"))
        delay = self.state.latency + mods.int("delay") / 1000
        if delay:
            await asyncio.sleep(delay)
        guard(request, mods, self.state)
        if mods.int("status"):
            return web.Response(status=mods.int("status"), text=f"status {mods.int('status')} on request")
        # Served texts answer under fault prefixes too: by full path, else by the path without them.
        text = self.state.texts.get(request.path) or self.state.texts.get("/" + "/".join(rest))
        if text is not None:
            return web.Response(body=text[0], headers={"Content-Type": text[1]})
        return await self._route(request, mods, rest)

    async def _route(self, request: web.Request, mods: Mods, rest: list[str]) -> web.StreamResponse:
        special = await self._special(request, rest)
        if special is not None:
            return special
        if rest[:1] == ["many"] and len(rest) == 3 and rest[1].isdigit():
            rest = ["live", "ts360", rest[2]]
        if "html" in mods.flags and rest[-1].endswith(".m3u8"):
            return web.Response(text=HTML_PAGE, content_type="text/html")
        fault = media_fault(rest, mods)
        if fault is not None:
            return fault
        query = f"?{request.query_string}" if "token" in mods.flags else ""
        return self.site.respond(rest, stale="stale" in mods.flags, shift=mods.int("shift"), query=query)

    async def _special(self, request: web.Request, rest: list[str]) -> web.StreamResponse | None:
        if len(rest) != 2:
            return None
        if rest[0] == "huge" and rest[1].removesuffix(".m3u8").isdigit():
            return await huge_playlist(request, int(rest[1].removesuffix(".m3u8")))
        if rest[0] == "tokens" and rest[1].removesuffix(".m3u").isdigit():
            return token_list(request, self.state, int(rest[1].removesuffix(".m3u")))
        return None
