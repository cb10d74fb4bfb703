"""The built-in demo source's origin: live sliding-window HLS over generated media (aiohttp).

Paths (relative to the origin's base URL; `mode` is `live`, `vod` or `broken`):

    /{mode}/{master}.m3u8             masters: master, master-audio, master-fmp4, master-hevc, master-aes
    /{mode}/{rendition}/index.m3u8    media playlist: ts360, ts234, video360, fmp4, audio, aes, hevc
    /{mode}/{rendition}/{k}.{ext}     segment k (k counts up forever; it plays file k % loop)
    /{mode}/{rendition}/init.mp4      fMP4 init section; /{mode}/aes/key.key is the AES-128 key

`broken` lists live segments that all answer 404. The test origin (tests/origin.py)
reuses HlsSite and adds faults in front of it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from aiohttp import web

from slipstream.demo.live import WINDOW, LiveClock, master_playlist, media_playlist
from slipstream.demo.media import MediaSet, Rendition

log = logging.getLogger(__name__)

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
MODES = ("live", "vod", "broken")
# master name -> (variant renditions, alternate audio rendition)
MASTERS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "master": (("ts360", "ts234"), None),
    "master-audio": (("video360",), "audio"),
    "master-fmp4": (("fmp4",), None),
    "master-hevc": (("hevc", "ts360"), None),
    "master-aes": (("aes",), None),
}
_COMMON = {"Access-Control-Allow-Origin": "*"}


class HlsSite:
    """Answers /{mode}/... paths with playlists and files of one media set."""

    def __init__(self, media: MediaSet, clock: LiveClock | None = None) -> None:
        self.media = media
        self.loop = media.segment_count
        seconds = max(media.renditions["ts360"].durations)
        self.clock = clock or LiveClock(start=time.time(), segment_seconds=seconds)

    def respond(self, parts: list[str], *, stale: bool = False, shift: int = 0,
                query: str = "") -> web.StreamResponse:
        """The response for path `parts`.

        `stale` freezes the live window, `shift` moves it by that many segments,
        `query` is appended to every URI in playlists (tokens).
        """
        if len(parts) not in (2, 3) or parts[0] not in MODES:
            raise web.HTTPNotFound()
        if len(parts) == 2:
            return self._master(parts[1], query)
        if parts[2] == "index.m3u8":
            text = self.playlist(parts[0], self._rendition(parts[1]), stale, shift, query)
            return playlist_response(text)
        return self._file(parts[0], self._rendition(parts[1]), parts[2])

    def _rendition(self, name: str) -> Rendition:
        rendition = self.media.renditions.get(name)
        if rendition is None:
            raise web.HTTPNotFound(text=f"no rendition {name!r}")
        return rendition

    def _master(self, name: str, query: str) -> web.Response:
        spec = MASTERS.get(name.removesuffix(".m3u8"))
        if spec is None or not name.endswith(".m3u8"):
            raise web.HTTPNotFound()
        variants = [self._rendition(n) for n in spec[0]]
        audio = self._rendition(spec[1]) if spec[1] else None
        return playlist_response(master_playlist(variants, audio, query))

    def _file(self, mode: str, rendition: Rendition, name: str) -> web.StreamResponse:
        if name in (rendition.init, rendition.key_file):
            ctype = "video/mp4" if name == rendition.init else "application/octet-stream"
            return file_response(self.media.file(rendition, name), ctype)
        index = self.segment_index(rendition, name)
        if index is None or mode == "broken" or (mode == "vod" and index >= self.loop):
            raise web.HTTPNotFound()
        return file_response(self.media.segment_path(rendition, index), rendition.content_type)

    def playlist(self, mode: str, rendition: Rendition, stale: bool = False, shift: int = 0,
                 query: str = "") -> str:
        """The media playlist text of `rendition` in `mode` right now."""
        if mode == "vod":
            return media_playlist(rendition, self.loop, 0, self.loop, endlist=True, query=query)
        first = shift + (0 if stale else self.clock.sequence(time.time()))
        return media_playlist(rendition, self.loop, first, WINDOW, query=query)

    @staticmethod
    def segment_index(rendition: Rendition, name: str) -> int | None:
        """k for a segment file name `{k}{ext}`, None if it is not one."""
        stem, dot, ext = name.rpartition(".")
        if not dot or f".{ext}" != rendition.extension or not stem.isdigit():
            return None
        return int(stem)


def playlist_response(text: str) -> web.Response:
    """A playlist body that players and proxies must not cache."""
    headers = {**_COMMON, "Cache-Control": "no-cache"}
    return web.Response(text=text, content_type=PLAYLIST_TYPE, headers=headers)


def file_response(path: object, content_type: str) -> web.FileResponse:
    """A media file with Range support and an explicit Content-Type (mimetypes maps .ts to TypeScript)."""
    headers = {**_COMMON, "Content-Type": content_type, "Cache-Control": "max-age=60"}
    return web.FileResponse(path, headers=headers)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DemoChannel:
    """One channel the demo extractor lists."""

    slug: str
    title: str
    path: str
    quality: str
    series: str
    session_type: str


DEMO_CHANNELS = (
    DemoChannel("f1-race", "Demo F1 — Race feed", "/live/master.m3u8", "360p", "f1", "race"),
    DemoChannel("motogp-onboard", "Demo MotoGP — Onboard camera (fMP4)", "/live/fmp4/index.m3u8",
                "360p", "motogp", "qualifying"),
    DemoChannel("wrc-stage", "Demo WRC — Stage cam", "/live/ts234/index.m3u8", "234p", "wrc", "race"),
    DemoChannel("f2-pitlane", "Demo F2 — Pit lane (broken on purpose)", "/broken/ts360/index.m3u8",
                "360p", "f2", "sprint"),
)


@dataclass
class DemoOrigin:
    """A running demo origin: its base URL, its channels, and how to stop it."""

    base_url: str
    runner: web.AppRunner
    channels: list[DemoChannel] = field(default_factory=lambda: list(DEMO_CHANNELS))

    def url(self, channel: DemoChannel) -> str:
        """The absolute playlist URL of a channel."""
        return self.base_url + channel.path

    async def close(self) -> None:
        """Stop serving."""
        await self.runner.cleanup()


def demo_app(site: HlsSite) -> web.Application:
    """The aiohttp application serving `site` at the root."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return site.respond(request.path.strip("/").split("/"))

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    return app


async def start_demo_origin(media: MediaSet, host: str = "127.0.0.1", port: int = 0) -> DemoOrigin:
    """Serve the demo channels on host:port (0 picks a free port)."""
    runner = web.AppRunner(demo_app(HlsSite(media)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:  # the port is taken: leave nothing behind
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    log.info("demo origin listening on %s:%d", host, bound)
    return DemoOrigin(f"http://{host}:{bound}", runner)
