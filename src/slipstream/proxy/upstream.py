"""Upstream I/O for the proxy: playlists with refresh-and-retry, segments streamed through.

Every fetch goes through the shared guarded client, so an upstream (or a
redirect) that resolves to a private address is refused before connecting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace

import aiohttp

from slipstream.errors import PlaylistError, UpstreamError, UpstreamStatus, UpstreamTimeout
from slipstream.http import read_capped
from slipstream.models import Stream
from slipstream.tokens.refresher import TokenRefreshManager
from slipstream.urls import add_query, strip_query

log = logging.getLogger(__name__)

REFRESH_STATUSES = frozenset({401, 403, 410})
CHUNK = 256 * 1024     # bigger chunks measured slower: uvicorn buffers what the socket cannot take
READ_BUFSIZE = 1024 * 1024  # aiohttp stops reading past 2x this; its 64 KiB default made reads small
MASTER_TTL = 10.0   # seconds a fetched master is reused to resolve variant reloads
# Response headers passed from upstream to the player; everything else (hop-by-hop
# headers, cookies, server details) stays behind.
PASS_HEADERS = ("content-type", "content-length", "content-range", "accept-ranges",
                "last-modified", "etag")


@dataclass
class Fetched:
    """A playlist's text and the URL it was finally served from (after redirects)."""

    text: str
    url: str
    refreshed: bool = False  # a refusal made this fetch re-run the stream's extractor first


class Upstream:
    """Fetches what the proxy serves, keeping tokens fresh through the refresher."""

    def __init__(self, http: aiohttp.ClientSession, refresher: TokenRefreshManager,
                 max_playlist_bytes: int, timeout: float,
                 on_error: Callable[[int], None] = lambda _status: None) -> None:
        self.http = http
        self.on_error = on_error  # metrics hook: an upstream answered with this error status
        self.refresher = refresher
        self.cap = max_playlist_bytes
        self.timeout = timeout
        self._masters: dict[str, tuple[float, Fetched]] = {}

    async def fetch_text(self, url: str, headers: Mapping[str, str]) -> Fetched:
        """GET a playlist, size-capped; raise UpstreamStatus/UpstreamTimeout/UpstreamError."""
        try:
            async with asyncio.timeout(self.timeout):
                async with self.http.get(url, headers=dict(headers)) as resp:
                    if resp.status >= 400:
                        self.on_error(resp.status)
                        raise UpstreamStatus(resp.status, strip_query(url))
                    body = await read_capped(resp, self.cap)
                    return Fetched(body.decode("utf-8", "replace"), str(resp.url))
        except TimeoutError:
            raise UpstreamTimeout(f"timeout fetching {strip_query(url)}") from None
        except ValueError as exc:
            raise PlaylistError(f"playlist {exc}") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"{type(exc).__name__} fetching {strip_query(url)}") from None

    async def master(self, stream: Stream, *, fresh: bool = False, refresh: bool = True,
                     directives: list[tuple[str, str]] | None = None) -> Fetched:
        """The stream's current master (or media) playlist; refresh and retry once on 401/403/410.

        `directives` (LL-HLS blocking-reload query pairs) go upstream and bypass the cache.
        `refresh=False` raises the refusal instead: the caller has refreshed for this reload already.
        """
        url = self.refresher.current_url(stream)
        try:
            return await self._master_once(stream, url, fresh, directives)
        except UpstreamStatus as exc:
            if not refresh or exc.status not in REFRESH_STATUSES or self.refresher.get(stream.id) is None:
                raise
            log.info("upstream %d on %s: refreshing token", exc.status, stream.id)
            await self.refresher.refresh_now(stream.id, failed_url=url)
            fetched = await self._master_once(stream, self.refresher.current_url(stream), True, directives)
            return replace(fetched, refreshed=True)  # a copy: the cached one stays as fetched

    async def _master_once(self, stream: Stream, url: str, fresh: bool,
                           directives: list[tuple[str, str]] | None) -> Fetched:
        if directives:  # a blocking reload: its answer is for this player only
            return await self.fetch_text(add_query(url, directives), self.headers(stream))
        cached = self._masters.get(url)
        if cached and not fresh and time.monotonic() - cached[0] < MASTER_TTL:
            return cached[1]
        fetched = await self.fetch_text(url, self.headers(stream))
        self._masters[url] = (time.monotonic(), fetched)
        if len(self._masters) > 1024:  # bound the cache: forget the oldest
            oldest = min(self._masters, key=lambda k: self._masters[k][0])
            self._masters.pop(oldest, None)
        return fetched

    def headers(self, stream: Stream) -> dict[str, str]:
        """The source's headers for this stream (refreshed ones if the refresher has them)."""
        watched = self.refresher.watched_stream(stream.id)
        return dict((watched or stream).headers)

    async def open_segment(self, url: str, stream: Stream, range_header: str | None,
                           ) -> aiohttp.ClientResponse:
        """Start a segment/key/init fetch; the caller streams the body and releases it."""
        headers = self.headers(stream)
        if range_header:
            headers["Range"] = range_header
        try:
            return await self.http.get(url, headers=headers, read_bufsize=READ_BUFSIZE)
        except TimeoutError:
            raise UpstreamTimeout(f"timeout fetching {strip_query(url)}") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(f"{type(exc).__name__} fetching {strip_query(url)}") from None


async def stream_body(resp: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """Yield an upstream body in chunks; a client that goes away aborts the upstream fetch."""
    complete = False
    try:
        async for chunk in resp.content.iter_chunked(CHUNK):
            yield chunk
        complete = True
    finally:
        if complete:
            resp.release()
        else:
            resp.close()
