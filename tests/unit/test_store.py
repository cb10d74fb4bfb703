"""The SQLite store keeps the cache, check history and runs across reopening."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from slipstream.models import Stream
from slipstream.store import CheckRow, MemoryStore, RunRecord, SqliteStore, Store


def stream(n: int, **kw: object) -> Stream:
    return Stream(url=f"https://c.example/{n}.m3u8", site_key="src", site_name="Src",
                  title=f"Feed {n}", headers={"Referer": "https://c.example/"}, **kw)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "memory"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    s: Store = SqliteStore(tmp_path / "db" / "slipstream.db") if request.param == "sqlite" else MemoryStore()
    await s.open()
    yield s  # type: ignore[misc]
    await s.close()


async def test_entries_replace_whole_and_empty_clears(store: Store) -> None:
    await store.save_entry("a", [stream(1), stream(2, is_live=True, bitrate=800000)])
    await store.save_entry("b", [stream(3)])
    await store.save_entry("a", [stream(4)])
    await store.save_entry("b", [])
    cache = await store.load_cache()
    assert list(cache) == ["a"]
    assert [s.title for s in cache["a"]] == ["Feed 4"]
    assert cache["a"][0].headers == {"Referer": "https://c.example/"}


async def test_uptime_is_live_share_of_last_day(store: Store) -> None:
    now = time.time()
    rows = [CheckRow("x", now - 10, True, 10.0, None), CheckRow("x", now - 20, False, None, None),
            CheckRow("x", now - 30, True, 12.0, 700.0), CheckRow("x", now - 90000, False, None, None),
            CheckRow("y", now - 5, False, None, None)]
    await store.record_checks(rows)
    uptime = await store.uptime(now)
    assert uptime["x"] == pytest.approx(2 / 3)
    assert uptime["y"] == 0.0


async def test_runs_are_recorded(store: Store) -> None:
    assert await store.last_run() is None
    await store.record_run(RunRecord("2026-01-01T00:00:00Z", 1.5, 10, 7, {"bad": "timeout after 5s"}))
    await store.record_run(RunRecord("2026-01-01T00:05:00Z", 2.5, 11, 8, {}))
    last = await store.last_run()
    assert last is not None and last.stream_count == 11 and last.errors == {}


async def test_sqlite_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "slipstream.db"
    first = SqliteStore(path)
    await first.open()
    await first.save_entry("a", [stream(1, is_live=True, response_time_ms=42.0)])
    await first.record_run(RunRecord("2026-01-01T00:00:00Z", 1.0, 1, 1, {}))
    await first.close()
    second = SqliteStore(path)
    await second.open()
    cache = await second.load_cache()
    assert cache["a"][0].is_live and cache["a"][0].response_time_ms == 42.0
    assert (await second.last_run()) is not None
    await second.close()
