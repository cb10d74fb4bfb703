"""TokenRefreshManager: watching, matching fresh results, errors, due times, idleness."""

from __future__ import annotations

import asyncio

import pytest

from slipstream.config import ScheduleSettings
from slipstream.extractors.base import Extractor, ExtractorContext
from slipstream.models import Stream
from slipstream.tokens.refresher import TokenRefreshManager, match_fresh


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Scripted(Extractor):
    """Returns whatever the test queued; counts runs; can be made to fail or block."""

    site_key = "cdn"
    site_name = "CDN"

    def __init__(self) -> None:
        super().__init__(ExtractorContext(http=None))  # type: ignore[arg-type]
        self.results: list[Stream] = []
        self.runs = 0
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def extract(self) -> list[Stream]:
        self.runs += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return list(self.results)


def s(url: str, title: str = "Race", quality: str | None = "1080p") -> Stream:
    return Stream(url=url, site_key="cdn", site_name="CDN", title=title, quality=quality)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ex() -> Scripted:
    return Scripted()


@pytest.fixture
def mgr(ex: Scripted, clock: Clock) -> TokenRefreshManager:
    return TokenRefreshManager({"cdn": ex}, ScheduleSettings(refresh_every=240, idle_after=600), clock)


def test_watch_is_idempotent_and_unwatch_is_a_noop_when_not_watched(mgr: TokenRefreshManager) -> None:
    stream = s("https://cdn.example/live/a.m3u8?token=1")
    first = mgr.watch(stream)
    assert mgr.watch(stream) is first
    assert len(mgr.active()) == 1
    assert mgr.unwatch("nope") is False
    assert mgr.unwatch(stream.id) is True
    assert mgr.active() == []


async def test_refresh_replaces_url_and_counts(mgr: TokenRefreshManager, ex: Scripted) -> None:
    old = s("https://cdn.example/live/a.m3u8?token=1")
    mgr.watch(old)
    ex.results = [s("https://cdn.example/live/b.m3u8?token=9", title="Other"),
                  s("https://cdn.example/live/a.m3u8?token=2")]
    assert await mgr.refresh_now(old.id) is True
    active = mgr.get(old.id)
    assert active is not None
    assert active.original_url.endswith("token=1")
    assert active.current_url.endswith("a.m3u8?token=2")
    assert active.refresh_count == 1 and active.last_refreshed and active.last_error is None
    assert mgr.current_url(old).endswith("token=2")
    assert mgr.fresh_url(old.url) == active.current_url
    assert mgr.fresh_url(active.current_url) == active.current_url


def test_matching_order() -> None:
    old = s("https://cdn.example/live/a.m3u8?t=1", title="Race", quality="1080p")
    by_title = s("https://other.example/x.m3u8", title="Race", quality="1080p")
    by_path = s("https://cdn.example/live/a.m3u8?t=2", title="Renamed", quality=None)
    assert match_fresh(old, old.url, [by_path, by_title]) is by_title
    assert match_fresh(old, old.url, [s("https://z.example/q.m3u8", "Z"), by_path]) is by_path
    only = s("https://z.example/q.m3u8", "Z")
    assert match_fresh(old, old.url, [only]) is only
    assert match_fresh(old, old.url, [only, s("https://y.example/r.m3u8", "Y")]) is None


async def test_one_run_refreshes_every_watched_stream_of_an_extractor(
        mgr: TokenRefreshManager, ex: Scripted, clock: Clock) -> None:
    a, b = s("https://cdn.example/a.m3u8?t=1", "A"), s("https://cdn.example/b.m3u8?t=1", "B")
    mgr.watch(a)
    mgr.watch(b)
    ex.results = [s("https://cdn.example/a.m3u8?t=2", "A"), s("https://cdn.example/b.m3u8?t=2", "B")]
    clock.now += 241
    await mgr.tick()
    assert ex.runs == 1
    assert [x.current_url[-3:] for x in mgr.active()] == ["t=2", "t=2"]


async def test_concurrent_refreshes_share_one_run(mgr: TokenRefreshManager, ex: Scripted) -> None:
    stream = s("https://cdn.example/a.m3u8?t=1")
    mgr.watch(stream)
    ex.results = [s("https://cdn.example/a.m3u8?t=2")]
    ex.gate = asyncio.Event()
    calls = [asyncio.create_task(mgr.refresh_now(stream.id)) for _ in range(5)]
    await ex.started.wait()
    ex.gate.set()
    await asyncio.gather(*calls)
    assert ex.runs == 1
    assert mgr.get(stream.id).refresh_count == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(("setup", "error"), [
    ("raise", "Extraction failed: site down"),
    ("empty", "Extractor returned no streams"),
    ("nomatch", "No matching stream in fresh results"),
])
async def test_failures_keep_the_old_url_and_record_why(
        mgr: TokenRefreshManager, ex: Scripted, setup: str, error: str) -> None:
    stream = s("https://cdn.example/a.m3u8?t=1")
    mgr.watch(stream)
    if setup == "raise":
        ex.error = RuntimeError("site down")
    elif setup == "nomatch":
        ex.results = [s("https://x.example/1.m3u8", "X"), s("https://y.example/2.m3u8", "Y")]
    assert await mgr.refresh_now(stream.id) is False
    active = mgr.get(stream.id)
    assert active is not None and active.current_url == stream.url and active.last_error == error


async def test_unknown_extractor_is_recorded(clock: Clock) -> None:
    mgr = TokenRefreshManager({}, ScheduleSettings(), clock)
    stream = s("https://cdn.example/a.m3u8?t=1")
    mgr.watch(stream)
    await mgr.refresh_now(stream.id)
    assert mgr.get(stream.id).last_error == "Extractor 'cdn' not found"  # type: ignore[union-attr]


async def test_tick_refreshes_only_what_is_due(mgr: TokenRefreshManager, ex: Scripted, clock: Clock) -> None:
    stream = s(f"https://cdn.example/a.m3u8?exp={int(clock.now + 20)}")
    mgr.watch(stream)
    ex.results = [s(f"https://cdn.example/a.m3u8?exp={int(clock.now + 40)}")]
    await mgr.tick()
    assert ex.runs == 0
    clock.now += 16
    await mgr.tick()
    assert ex.runs == 1 and mgr.get(stream.id).refresh_count == 1  # type: ignore[union-attr]


async def test_a_fresh_url_that_reads_as_expired_is_not_refreshed_every_tick(
        mgr: TokenRefreshManager, ex: Scripted, clock: Clock) -> None:
    stream = s(f"https://cdn.example/a.m3u8?exp={int(clock.now - 5)}")  # expired when found
    mgr.watch(stream)
    ex.results = [s(f"https://cdn.example/a.m3u8?exp={int(clock.now - 1)}&v=2")]  # a CDN ignoring exp
    await mgr.tick()
    assert ex.runs == 1 and mgr.get(stream.id).refresh_count == 1  # type: ignore[union-attr]
    for _ in range(10):
        clock.now += 1
        await mgr.tick()
    assert ex.runs == 1  # the schedule, not the stale expiry, decides the next run
    clock.now += 240
    await mgr.tick()
    assert ex.runs == 2


async def test_a_failed_refresh_is_retried_soon(mgr: TokenRefreshManager, ex: Scripted, clock: Clock) -> None:
    stream = s(f"https://cdn.example/a.m3u8?exp={int(clock.now + 90)}")
    mgr.watch(stream)
    ex.error = RuntimeError("site down")
    clock.now += 45  # due 60 s before the token's expiry
    await mgr.tick()
    assert ex.runs == 1 and mgr.get(stream.id).last_error == "Extraction failed: site down"  # type: ignore[union-attr]
    ex.error, ex.results = None, [s(f"https://cdn.example/a.m3u8?exp={int(clock.now + 600)}")]
    clock.now += 29
    await mgr.tick()
    assert ex.runs == 1
    clock.now += 1  # 30 s after the failure, well before the old token runs out
    await mgr.tick()
    active = mgr.get(stream.id)
    assert ex.runs == 2 and active is not None and active.refresh_count == 1 and active.last_error is None


async def test_no_traffic_for_idle_after_ends_watching(mgr: TokenRefreshManager, clock: Clock) -> None:
    a, b = s("https://cdn.example/a.m3u8", "A"), s("https://cdn.example/b.m3u8", "B")
    mgr.watch(a)
    mgr.watch(b)
    clock.now += 500
    mgr.touch(b.id)
    clock.now += 200
    assert mgr.expire_idle() == [a.id]
    assert [x.stream_id for x in mgr.active()] == [b.id]
