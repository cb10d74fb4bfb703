"""TokenRefreshManager: keeps `original → current` URLs fresh for streams being watched.

Players fetch a master once and reload variants for hours while CDN tokens
expire every few minutes. For each watched stream this re-runs the extractor
that found it (one run per extractor for all its watched streams), finds the
same stream in the fresh results, and hands the proxy the fresh URL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from slipstream.config import ScheduleSettings
from slipstream.extractors.base import Extractor
from slipstream.models import ActiveStream, Stream, utcnow_iso
from slipstream.tokens.expiry import refresh_due
from slipstream.urls import strip_query

log = logging.getLogger(__name__)

def match_fresh(old: Stream, current_url: str, fresh: list[Stream]) -> Stream | None:
    """The fresh stream that is `old`: same quality+title, else same host+path, else the only one."""
    if old.title:
        same = [s for s in fresh if s.title == old.title and s.quality == old.quality]
        if same:
            return same[0]
    wanted = {_host_path(current_url), _host_path(old.url)}
    same_place = [s for s in fresh if _host_path(s.url) in wanted]
    if same_place:
        return same_place[0]
    return fresh[0] if len(fresh) == 1 else None


def _host_path(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.path


RETRY_AFTER_ERROR = 30.0  # seconds before a failed refresh is tried again


@dataclass
class _Watch:
    active: ActiveStream
    stream: Stream
    due_at: float
    last_traffic: float


class TokenRefreshManager:
    """Watched streams, their current URLs, and the refreshing of both."""

    def __init__(self, extractors: Mapping[str, Extractor], schedule: ScheduleSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.extractors = dict(extractors)
        self.schedule = schedule
        self.clock = clock
        self._watches: dict[str, _Watch] = {}
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self.on_outcome: Callable[[str], None] = lambda _outcome: None  # metrics hook

    def watch(self, stream: Stream) -> ActiveStream:
        """Mark `stream` watched (idempotent) and return its record."""
        now = self.clock()
        existing = self._watches.get(stream.id)
        if existing is not None:
            existing.last_traffic = now
            return existing.active
        active = ActiveStream(stream.id, stream.site_key, stream.url, stream.url)
        self._watches[stream.id] = _Watch(active, replace(stream), refresh_due(stream.url, now,
                                          self.schedule.refresh_every), now)
        log.info("watching %s (%s)", stream.id, strip_query(stream.url))
        return active

    def unwatch(self, stream_id: str) -> bool:
        """Stop watching; a no-op (False) when the stream is not watched."""
        return self._watches.pop(stream_id, None) is not None

    def get(self, stream_id: str) -> ActiveStream | None:
        """The active record of a watched stream."""
        watch = self._watches.get(stream_id)
        return watch.active if watch else None

    def active(self) -> list[ActiveStream]:
        """Every watched stream."""
        return [w.active for w in self._watches.values()]

    def watched_stream(self, stream_id: str) -> Stream | None:
        """The watched copy of a stream (its headers follow refreshes)."""
        watch = self._watches.get(stream_id)
        return watch.stream if watch else None

    def current_url(self, stream: Stream) -> str:
        """The freshest known URL of `stream`."""
        watch = self._watches.get(stream.id)
        return watch.active.current_url if watch else stream.url

    def fresh_url(self, url: str) -> str | None:
        """The current URL of the watched stream whose original or current URL is `url`."""
        for watch in self._watches.values():
            if url in (watch.active.original_url, watch.active.current_url):
                return watch.active.current_url
        return None

    def touch(self, stream_id: str) -> None:
        """Record proxy traffic for a watched stream (it stays watched)."""
        watch = self._watches.get(stream_id)
        if watch is not None:
            watch.last_traffic = self.clock()

    def expire_idle(self) -> list[str]:
        """Stop watching streams with no proxy traffic for `idle_after`."""
        cutoff = self.clock() - self.schedule.idle_after
        idle = [sid for sid, w in self._watches.items() if w.last_traffic < cutoff]
        for sid in idle:
            del self._watches[sid]
            log.info("stopped watching %s: no proxy traffic for %.0fs", sid, self.schedule.idle_after)
        return idle

    async def tick(self) -> None:
        """Scheduler job: drop idle streams, refresh those due (one run per extractor)."""
        self.expire_idle()
        now = self.clock()
        due = sorted({w.active.site_key for w in self._watches.values() if w.due_at <= now})
        await asyncio.gather(*(self.refresh_extractor(key) for key in due))

    async def refresh_now(self, stream_id: str, failed_url: str | None = None) -> bool:
        """Refresh the extractor of a watched stream now; True when its URL changed.

        `failed_url` is the URL an upstream just refused: when the stream has moved on from
        it already (a refresh finished while that request was in flight), nothing is re-run.
        """
        watch = self._watches.get(stream_id)
        if watch is None:
            return False
        before = watch.active.current_url
        if failed_url is not None and failed_url != before:
            return True
        await self.refresh_extractor(watch.active.site_key)
        return watch.active.current_url != before

    async def refresh_extractor(self, site_key: str) -> None:
        """Re-run one extractor for all its watched streams; concurrent callers share one run."""
        task = self._inflight.get(site_key)
        if task is None:
            task = asyncio.create_task(self._refresh(site_key))
            self._inflight[site_key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(site_key, None))
        await asyncio.shield(task)

    async def _refresh(self, site_key: str) -> None:
        watches = [w for w in self._watches.values() if w.active.site_key == site_key]
        error, fresh = await self._extract(site_key)
        now = self.clock()
        for watch in watches:
            watch.due_at = now + self.schedule.refresh_every
            if error:
                watch.active.last_error = error
                # Its token still runs out on time: try again soon, not a whole period later.
                watch.due_at = now + min(self.schedule.refresh_every, RETRY_AFTER_ERROR)
                self.on_outcome("extractor_error")
                continue
            found = match_fresh(watch.stream, watch.active.current_url, fresh)
            self._apply(watch, found, now)
            self.on_outcome("refreshed" if found else "no_match")

    async def _extract(self, site_key: str) -> tuple[str | None, list[Stream]]:
        extractor = self.extractors.get(site_key)
        if extractor is None:
            return f"Extractor '{site_key}' not found", []
        try:
            fresh = await asyncio.wait_for(extractor.extract(), extractor.timeout)
        except Exception as exc:  # an extractor's failure is recorded, never raised
            return f"Extraction failed: {exc or type(exc).__name__}", []
        return (None, fresh) if fresh else ("Extractor returned no streams", [])

    def _apply(self, watch: _Watch, found: Stream | None, now: float) -> None:
        active = watch.active
        if found is None:
            active.last_error = "No matching stream in fresh results"
            return
        active.current_url, active.last_error = found.url, None
        active.last_refreshed, active.refresh_count = utcnow_iso(), active.refresh_count + 1
        watch.stream.headers = found.headers or watch.stream.headers
        due = refresh_due(found.url, now, self.schedule.refresh_every)
        if due <= now:
            # The fresh URL reads as expired already (a stale `exp` the CDN ignores, or clock
            # skew): its expiry says nothing, and re-running the extractor every tick would not help.
            due = now + self.schedule.refresh_every
        watch.due_at = due
        log.info("refreshed %s: %s (refresh #%d)", active.stream_id, strip_query(found.url),
                 active.refresh_count)
