"""ExtractionService: one run = extract, dedupe, health check, verify, store, rank.

Runs happen on the scheduler (or an admin trigger), never on a request path;
requests read `self.view`, a snapshot rebuilt once per store update.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from slipstream.extractors.base import Extractor
from slipstream.metrics import Metrics, reason_label
from slipstream.models import HealthResult, Stream, Verdict, utcnow_iso
from slipstream.ranking import dedupe
from slipstream.store.base import CheckRow, RunRecord, Store
from slipstream.view import View, build_view

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]   # phase, done, total
T = TypeVar("T")


class HealthCheck(Protocol):
    async def check_many(
        self, items: Sequence[tuple[str, Mapping[str, str]]],
        progress: Callable[[HealthResult], None] | None = None,
    ) -> list[HealthResult]: ...


class Verifier(Protocol):
    available: bool
    unavailable_reason: str | None

    async def verify_many(
        self, items: Sequence[tuple[str, Mapping[str, str], str]],
        progress: Callable[[Verdict], None] | None = None,
    ) -> dict[str, Verdict]: ...


VerifyTarget = Callable[[Stream], tuple[str, Mapping[str, str]]]


@dataclass
class ExtractorState:
    """What `/extractors` reports about one extractor."""

    site_key: str
    site_name: str
    error: str | None = None
    duration_s: float | None = None
    last_run: str | None = None


def _ticker(progress: Progress, phase: str, total: int) -> Callable[[object], None]:
    """A per-item callback reporting `phase` progress as done/total."""
    done = 0
    progress(phase, 0, total)

    def tick(_: object) -> None:
        nonlocal done
        done += 1
        progress(phase, done, total)
    return tick


class ExtractionService:
    """Owns the serving cache and runs the pipeline into it."""

    def __init__(
        self,
        extractors: Sequence[Extractor],
        health: HealthCheck,
        store: Store,
        verifier: Verifier | None = None,
        verify_target: VerifyTarget | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.extractors = list(extractors)
        self.health = health
        self.store = store
        self.verifier = verifier
        self.verify_target = verify_target or (lambda s: (s.url, s.headers))
        self.cache: dict[str, list[Stream]] = {}
        self.states = {e.key: ExtractorState(e.key, e.name) for e in self.extractors}
        self.view = View()
        self.last_run: RunRecord | None = None
        self.running = False
        self.runs_completed = 0  # by this process: tells one run from the next
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[Any] | None = None
        self._pending: dict[str, Stream] = {}   # this run's streams, visible to the proxy while verifying
        self._store_failed = False              # a store call failed this run: skip its other writes
        # Awaited before each run, e.g. to start the demo origin on first use.
        self.prepare: Callable[[], Any] | None = None

    @property
    def verifier_on(self) -> bool:
        """True when playback verification will run."""
        return self.verifier is not None and self.verifier.available

    @property
    def verifier_reason(self) -> str | None:
        """Why the verifier is off, or None."""
        if self.verifier is None:
            return "playback verifier not installed"
        return None if self.verifier.available else self.verifier.unavailable_reason

    async def load(self) -> None:
        """Serve the last-known streams from the store at once."""
        cached = await self.store.load_cache()
        # A source removed from the config since: its streams are not served again (nor kept).
        for key in sorted(k for k in cached if k not in self.states):
            log.info("store: dropping %d cached streams of %r, a source no longer configured",
                     len(cached.pop(key)), key)
            await self._persist(f"forgetting {key}", partial(self.store.save_entry, key, []), None)
        self.cache = cached
        self.last_run = await self.store.last_run()
        if self.last_run is not None:  # what /extractors said before the restart, durations aside
            for key, state in self.states.items():
                state.error, state.last_run = self.last_run.errors.get(key), self.last_run.started_at
        self._rebuild_view()
        log.info("loaded %d cached streams from the store", len(self.view.all))

    def _rebuild_view(self) -> None:
        self.view = build_view(s for streams in self.cache.values() for s in streams)

    async def run(self, progress: Progress | None = None) -> RunRecord | None:
        """One extraction run; returns None when one is already running."""
        if self._lock.locked():
            log.info("extraction run already in progress; not starting another")
            return None
        async with self._lock:
            self.running, self._task = True, asyncio.current_task()
            try:
                return await self._run(progress or (lambda *_: None))
            finally:
                self.running, self._task = False, None

    async def stop(self) -> None:
        """Cancel a run in progress (at shutdown) and wait for it to unwind."""
        task = self._task
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, progress: Progress) -> RunRecord:
        from slipstream.extractors.registry import extract_all

        started, t0 = utcnow_iso(), time.monotonic()
        self._store_failed = False
        if self.prepare is not None:
            await self.prepare()
        progress("extract", 0, len(self.extractors))
        outcomes = await extract_all(self.extractors)
        progress("extract", len(outcomes), len(self.extractors))
        streams = dedupe(s for o in outcomes for s in o.streams)
        await self._check(streams, progress)
        await self._verify(streams, progress)
        await self._remember(streams)
        errors = {}
        for o in outcomes:
            state = self.states[o.extractor.key]
            state.error, state.duration_s, state.last_run = o.error, o.duration_s, started
            if o.error:
                errors[o.extractor.key] = o.error
        await self._replace_cache(streams, [o.extractor.key for o in outcomes])
        self._count(outcomes, streams)
        live = sum(s.is_live for s in streams)
        record = RunRecord(started, round(time.monotonic() - t0, 3), len(streams), live, errors)
        await self._persist("recording the run", partial(self.store.record_run, record), None)
        self.last_run = record
        self.runs_completed += 1
        log.info("extraction run: %d streams from %d extractors in %.1fs (%d live, %d errors)",
                 len(streams), len(outcomes), record.duration_s, live, len(errors))
        return record

    async def _check(self, streams: list[Stream], progress: Progress) -> None:
        for s in streams:
            if s.trusted:
                s.is_live, s.reason, s.response_time_ms = True, "trusted", 0.0
                s.checked_at = utcnow_iso()
        hls = [s for s in streams if s.stream_type == "m3u8" and not s.trusted]
        tick = _ticker(progress, "health", len(hls))
        results = await self.health.check_many([(s.url, s.headers) for s in hls], tick)
        for s, r in zip(hls, results, strict=True):
            self.metrics.health.labels(reason_label(r.reason)).inc()
            if r.response_time_ms is not None:
                self.metrics.health_seconds.observe(r.response_time_ms / 1000)
            s.is_live, s.reason = r.is_live, r.reason
            s.response_time_ms, s.bitrate = r.response_time_ms, r.bitrate
            s.checked_at = r.checked_at
        for s in streams:
            if s.stream_type == "embed" and not s.trusted:
                # Without a verifier, embeds are trusted as the extractor reported them.
                s.is_live, s.reason, s.checked_at = True, "not verified", utcnow_iso()

    async def _verify(self, streams: list[Stream], progress: Progress) -> None:
        if not self.verifier_on or self.verifier is None:
            return
        todo = [s for s in streams if s.is_live and not s.trusted]
        self._pending = {s.id: s for s in todo}
        items = [(*self.verify_target(s), "embed" if s.stream_type == "embed" else "hls")
                 for s in todo]
        try:
            verdicts = await self.verifier.verify_many(items, _ticker(progress, "verify", len(todo)))
        finally:
            self._pending = {}
        for s, (url, _h, _k) in zip(todo, items, strict=True):
            if (v := verdicts.get(url)) is not None:
                self._apply_verdict(s, v)

    def _apply_verdict(self, s: Stream, v: Verdict) -> None:
        outcome = "playable" if v.is_playable else "failed"
        self.metrics.verify.labels(outcome, reason_label(None if v.is_playable else v.reason)).inc()
        if v.elapsed_ms is not None:
            self.metrics.first_frame.observe(v.elapsed_ms / 1000)
        s.first_frame_ms = v.elapsed_ms
        if s.stream_type == "embed":
            s.response_time_ms = v.elapsed_ms
            if v.is_playable:  # it was "not verified" until a browser saw it play
                s.reason = v.reason
        if not v.is_playable:
            s.is_live, s.reason = False, f"playback: {v.reason}"

    def lookup(self, stream_id: str) -> Stream | None:
        """A known stream by id: served now, or being verified in the current run."""
        return self.view.by_id.get(stream_id) or self._pending.get(stream_id)

    async def _persist(self, what: str, call: Callable[[], Awaitable[T]], default: T) -> T:
        """One store call; a failure is logged and the run goes on from memory (the next run writes again)."""
        if self._store_failed:  # a locked store would make every call wait out its busy timeout
            return default
        try:
            return await call()
        except Exception as exc:  # any store's failure (locked, full, gone): memory keeps serving
            self._store_failed = True
            log.error("store: %s failed (%s: %s); serving from memory, the next run writes again",
                      what, type(exc).__name__, exc)
            return default

    async def _remember(self, streams: list[Stream]) -> None:
        now = time.time()
        rows = [CheckRow(s.id, now, s.is_live, s.response_time_ms, s.first_frame_ms) for s in streams]
        await self._persist("recording checks", partial(self.store.record_checks, rows), None)
        known = {s.id: s.uptime for s in self.view.all if s.uptime is not None}
        uptime = await self._persist("reading uptime", partial(self.store.uptime, now), known)
        for s in streams:
            s.uptime = uptime.get(s.id)

    async def _replace_cache(self, streams: list[Stream], keys: list[str]) -> None:
        by_key: dict[str, list[Stream]] = {k: [] for k in keys}
        for s in streams:
            by_key.setdefault(s.site_key, []).append(s)
        for key, entry in by_key.items():
            # An extractor that returned nothing (or failed) has its entry cleared.
            await self._persist(f"saving {key}", partial(self.store.save_entry, key, entry), None)
            if entry:
                self.cache[key] = entry
            else:
                self.cache.pop(key, None)
        self._rebuild_view()

    def _count(self, outcomes: Sequence[Any], streams: list[Stream]) -> None:
        m = self.metrics
        for o in outcomes:
            m.runs.labels(o.extractor.key, "error" if o.error else "ok").inc()
            m.run_seconds.labels(o.extractor.key).observe(o.duration_s)
        for key in self.states:
            cached = self.cache.get(key, [])
            m.streams.labels(key, "cached").set(len(cached))
            m.streams.labels(key, "live").set(sum(s.is_live for s in cached))

    def status(self) -> dict[str, Any]:
        """The `/extractors` body."""
        per = []
        for key, state in self.states.items():
            cached = self.cache.get(key, [])
            per.append({
                "site_key": key, "site_name": state.site_name,
                "cached_streams": len(cached), "live_streams": sum(s.is_live for s in cached),
                "last_error": state.error, "last_duration_s": state.duration_s,
                "last_run": state.last_run,
            })
        run = self.last_run
        return {
            "extractors": per,
            "total_cached_streams": len(self.view.all),
            "total_live_streams": len(self.view.ranked),
            "last_run": run.started_at if run else None,
            "last_run_stream_count": run.stream_count if run else 0,
            "last_run_duration_s": run.duration_s if run else None,
            "last_run_errors": run.errors if run else {},
            "running": self.running,
            "runs_completed": self.runs_completed,
            "verifier": {"enabled": self.verifier_on, "reason": self.verifier_reason},
        }
