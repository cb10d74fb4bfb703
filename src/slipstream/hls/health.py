"""The structural health check of HLS streams (I/O); DESIGN.md "Health check".

playlist → (master → variant) → segments, not ENDLIST → the newest segment's first
bytes are media (decrypted first under AES-128) → optionally, the playlist moves.
Concurrency slots are held only while fetching: the staleness wait holds none, so
any number of checks cost one target duration of waiting in all.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from slipstream.config import HealthSettings
from slipstream.hls.playlist import (
    ByteRange,
    MasterPlaylist,
    MediaPlaylist,
    Segment,
    parse_playlist,
    pick_variant,
)
from slipstream.hls.reasons import Failed, failure_reason, judge_init, judge_segment, playlist_advanced
from slipstream.http import read_capped
from slipstream.models import HealthResult
from slipstream.urls import strip_query

log = logging.getLogger(__name__)

SNIFF_BYTES = 4096          # enough for several TS packets or the first fMP4 boxes
KEY_CAP = 1024              # an AES-128 key is 16 bytes; anything far bigger is an error page
MAX_SKIP = 16 * 1024 * 1024  # how far we read into a byte-range resource whose server ignored Range
MAX_WAIT = 30.0             # a TARGETDURATION beyond this is a broken playlist, not a reason to wait
DEADLINE_FACTOR = 2         # the fetch phase of a check may take this many per-request timeouts


@dataclass
class _Found:
    """What a check learned before it stopped, kept for the result either way."""

    response_time_ms: float | None = None
    bitrate: int | None = None


def _total_size(resp: aiohttp.ClientResponse) -> int | None:
    if resp.status == 206:
        match = re.search(r"/(\d+)\s*$", resp.headers.get("Content-Range", ""))
        return int(match[1]) if match else None
    return resp.content_length


async def _all(jobs: dict[str, Coroutine[Any, Any, Any]]) -> dict[str, Any]:
    """Run named jobs at once; raise the first failure in the jobs' order, so reasons are stable."""
    results = await asyncio.gather(*jobs.values(), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return dict(zip(jobs, results, strict=True))


class HealthChecker:
    """Checks HLS URLs with one shared session, a bounded number at once."""

    def __init__(self, http: aiohttp.ClientSession, settings: HealthSettings) -> None:
        self.http = http
        self.settings = settings
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._timeout = aiohttp.ClientTimeout(total=settings.timeout)

    async def check_many(
        self,
        items: Sequence[tuple[str, Mapping[str, str]]],
        progress: Callable[[HealthResult], None] | None = None,
    ) -> list[HealthResult]:
        """Check every (url, headers) concurrently; results in the same order."""
        started = time.perf_counter()

        async def one(url: str, headers: Mapping[str, str]) -> HealthResult:
            result = await self.check(url, headers)
            if progress is not None:
                progress(result)
            return result

        results = await asyncio.gather(*(one(url, headers) for url, headers in items))
        live = sum(r.is_live for r in results)
        log.info("health: %d checked in %.1fs (%d live)", len(results), time.perf_counter() - started, live)
        return list(results)

    async def check(self, url: str, headers: Mapping[str, str] | None = None) -> HealthResult:
        """The verdict on one URL; never raises."""
        found = _Found()
        try:
            reason = await self._check(url, dict(headers or {}), found)
        except Exception as exc:  # one stream's failure never affects another's
            reason = failure_reason(exc)
            if reason.startswith("error:"):
                log.warning("health check of %s failed unexpectedly", strip_query(url), exc_info=True)
        log.debug("health: %s -> %s", strip_query(url), reason)
        return HealthResult(url, reason == "ok", reason, found.response_time_ms, found.bitrate)

    async def _check(self, url: str, headers: dict[str, str], found: _Found) -> str:
        async with self._slots, asyncio.timeout(self.settings.timeout * DEADLINE_FACTOR):
            media, media_url = await self._media_playlist(url, headers, found)
            if not media.segments:
                return "no segments"
            if media.endlist:  # RFC 8216 §4.3.3.4: no more segments will be added
                return "vod"
            await self._sniff_newest(media.segments[-1], headers, found)
        if self.settings.stale_check and await self._is_stale(media, media_url, headers):
            return "stale"
        return "ok"

    async def _media_playlist(
        self, url: str, headers: dict[str, str], found: _Found
    ) -> tuple[MediaPlaylist, str]:
        started = time.perf_counter()
        data, final = await self._get_playlist(url, headers, "")
        found.response_time_ms = round((time.perf_counter() - started) * 1000, 1)
        playlist = parse_playlist(data, final)
        if isinstance(playlist, MediaPlaylist):
            return playlist, url
        variant = pick_variant(playlist)
        found.bitrate = variant.bandwidth or None
        data, final = await self._get_playlist(variant.uri, headers, "variant ")
        media = parse_playlist(data, final)
        if isinstance(media, MasterPlaylist):
            raise Failed("variant is a master playlist")
        return media, variant.uri

    async def _sniff_newest(self, seg: Segment, headers: dict[str, str], found: _Found) -> None:
        jobs: dict[str, Coroutine[Any, Any, Any]] = {
            "segment": self._get_prefix(seg.uri, seg.byterange, headers, "segment ")
        }
        if seg.key is not None and seg.key.method == "AES-128":
            jobs["key"] = self._get_key(seg, headers)
        if seg.init is not None:  # fetched alongside: a broken init section breaks playback too
            jobs["init"] = self._get_prefix(seg.init.uri, seg.init.byterange, headers, "init ")
        got = await _all(jobs)
        (data, size), key = got["segment"], got.get("key")
        if found.bitrate is None and size and seg.duration > 0:  # measured when no BANDWIDTH says
            found.bitrate = round(size * 8 / seg.duration)
        failure = judge_segment(seg, data, key)
        if failure is None and "init" in got:
            failure = judge_init(seg, got["init"][0], key)
        if failure:
            raise Failed(failure)

    async def _is_stale(self, media: MediaPlaylist, url: str, headers: dict[str, str]) -> bool:
        wait = min(max(media.target_duration, 1.0), MAX_WAIT)
        # RFC 8216 §6.3.4: reload after one target duration, then after half of it if unchanged;
        # §6.2.1 gives the server 1.5 target durations to publish the next segment.
        for delay in (wait, wait / 2):
            await asyncio.sleep(delay)  # holding no slot
            async with self._slots, asyncio.timeout(self.settings.timeout * DEADLINE_FACTOR):
                data, final = await self._get_playlist(url, headers, "reload ")
            fresh = parse_playlist(data, final)
            if isinstance(fresh, MediaPlaylist) and playlist_advanced(media, fresh):
                return False
        return True

    async def _get_playlist(self, url: str, headers: dict[str, str], what: str) -> tuple[bytes, str]:
        async with self.http.get(url, headers=headers, timeout=self._timeout) as resp:
            if not 200 <= resp.status < 300:
                raise Failed(f"{what}http {resp.status}")
            try:
                data = await read_capped(resp, self.settings.max_playlist_bytes)
            except ValueError:
                raise Failed("playlist too large") from None
            return data, str(resp.url)  # relative URIs resolve against the URL after redirects

    async def _get_key(self, seg: Segment, headers: dict[str, str]) -> bytes:
        if seg.key is None or not seg.key.uri:
            raise Failed("decrypt failed")
        async with self.http.get(seg.key.uri, headers=headers, timeout=self._timeout) as resp:
            if not 200 <= resp.status < 300:
                raise Failed(f"key http {resp.status}")
            try:
                return await read_capped(resp, KEY_CAP)
            except ValueError:
                raise Failed("decrypt failed") from None

    async def _get_prefix(
        self, url: str, brange: ByteRange | None, headers: dict[str, str], what: str
    ) -> tuple[bytes, int | None]:
        """The first SNIFF_BYTES of a resource (of its sub-range) and its full size when known."""
        offset = brange.offset if brange else 0
        want = min(brange.length, SNIFF_BYTES) if brange else SNIFF_BYTES
        ranged = {**headers, "Range": ByteRange(want, offset).header}
        async with self.http.get(url, headers=ranged, timeout=self._timeout) as resp:
            if not 200 <= resp.status < 300:
                raise Failed(f"{what}http {resp.status}")
            # A server that ignores Range sends 200 and the whole file: read only what we need.
            skip = offset if resp.status == 200 else 0
            if skip > MAX_SKIP:
                raise Failed(f"{what}range ignored")
            data = await _read_prefix(resp, skip, want)
            return data, brange.length if brange else _total_size(resp)


async def _read_prefix(resp: aiohttp.ClientResponse, skip: int, want: int) -> bytes:
    """`want` bytes of the body after dropping `skip`; the rest is never read, the connection dropped."""
    buf = bytearray()
    seen = 0
    async for chunk in resp.content.iter_chunked(65536):
        buf += chunk[max(skip - seen, 0) :]
        seen += len(chunk)
        if len(buf) >= want:
            break
    if not resp.content.at_eof():
        resp.close()  # an unread body cannot go back to the pool
    return bytes(buf[:want])
