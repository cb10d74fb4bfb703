"""The embedded default store: one SQLite file in the data directory.

All SQL runs on one dedicated thread with one connection, so the event loop
never blocks on disk and writes never interleave.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from slipstream.errors import SlipstreamError
from slipstream.models import Stream
from slipstream.store.base import HISTORY_KEEP_S, HISTORY_WINDOW_S, CheckRow, RunRecord

log = logging.getLogger(__name__)
T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache (
    site_key TEXT PRIMARY KEY,
    streams  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checks (
    stream_id        TEXT NOT NULL,
    checked_at       REAL NOT NULL,
    is_live          INTEGER NOT NULL,
    response_time_ms REAL,
    first_frame_ms   REAL
);
CREATE INDEX IF NOT EXISTS checks_by_time ON checks (checked_at, stream_id);
CREATE TABLE IF NOT EXISTS runs (
    started_at   TEXT NOT NULL,
    duration_s   REAL NOT NULL,
    stream_count INTEGER NOT NULL,
    live_count   INTEGER NOT NULL,
    errors       TEXT NOT NULL
);
"""


class SqliteStore:
    """Implements Store in a SQLite file (WAL mode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._inode = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def call() -> T:
            if not self._inode:
                raise SlipstreamError("store is not open")
            db = self._current()
            with db:  # one transaction per call
                return fn(db)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def open(self) -> None:
        """Create the data directory and schema if needed."""
        await asyncio.get_running_loop().run_in_executor(self._pool, self._connect)
        log.info("sqlite store at %s", self.path)

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        self._db, self._inode = db, os.stat(self.path).st_ino

    def _current(self) -> sqlite3.Connection:
        """The connection, opened afresh when the data file was deleted or replaced under it.

        Writes to a deleted file would vanish with the process; a failed reopen is retried next call.
        """
        try:
            same = os.stat(self.path).st_ino == self._inode
        except FileNotFoundError:
            same = False
        if self._db is not None and not same:
            log.warning("store: %s was deleted or replaced while open; creating it afresh", self.path)
            self._db.close()
            self._db = None
        if self._db is None:
            self._connect()
        assert self._db is not None
        return self._db

    async def close(self) -> None:
        """Close the connection and the thread."""
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._pool, db.close)
        self._pool.shutdown(wait=True)

    async def load_cache(self) -> dict[str, list[Stream]]:
        """The last saved cache; an unreadable entry is logged and skipped."""
        sql = "SELECT site_key, streams FROM cache"
        rows = await self._run(lambda db: db.execute(sql).fetchall())
        cache: dict[str, list[Stream]] = {}
        for site_key, blob in rows:
            try:
                cache[site_key] = [Stream.from_dict(d) for d in json.loads(blob)]
            except (ValueError, TypeError) as exc:
                log.warning("store: skipping unreadable cache entry %s: %s", site_key, exc)
        return cache

    async def save_entry(self, site_key: str, streams: list[Stream]) -> None:
        """Replace one extractor's entry whole (an empty list clears it)."""
        blob = json.dumps([s.to_dict() for s in streams])

        def write(db: sqlite3.Connection) -> None:
            if streams:
                db.execute("INSERT OR REPLACE INTO cache VALUES (?, ?)", (site_key, blob))
            else:
                db.execute("DELETE FROM cache WHERE site_key = ?", (site_key,))
        await self._run(write)

    async def record_checks(self, rows: list[CheckRow]) -> None:
        """Append check rows and prune history older than a week."""
        values = [(r.stream_id, r.checked_at, int(r.is_live), r.response_time_ms, r.first_frame_ms)
                  for r in rows]
        newest = max((r.checked_at for r in rows), default=0.0)

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT INTO checks VALUES (?, ?, ?, ?, ?)", values)
            db.execute("DELETE FROM checks WHERE checked_at < ?", (newest - HISTORY_KEEP_S,))
        await self._run(write)

    async def uptime(self, now: float) -> dict[str, float]:
        """Live share of each stream's checks in the last 24 h."""
        sql = "SELECT stream_id, AVG(is_live) FROM checks WHERE checked_at >= ? GROUP BY stream_id"
        rows = await self._run(lambda db: db.execute(sql, (now - HISTORY_WINDOW_S,)).fetchall())
        return {sid: float(share) for sid, share in rows}

    async def record_run(self, run: RunRecord) -> None:
        """Remember a run's statistics (the last 1,000 are kept)."""
        values = (run.started_at, run.duration_s, run.stream_count, run.live_count,
                  json.dumps(run.errors))

        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?)", values)
            db.execute("DELETE FROM runs WHERE rowid <= (SELECT MAX(rowid) - 1000 FROM runs)")
        await self._run(write)

    async def last_run(self) -> RunRecord | None:
        """The newest run, if any."""
        row: Any = await self._run(
            lambda db: db.execute("SELECT * FROM runs ORDER BY rowid DESC LIMIT 1").fetchone())
        if row is None:
            return None
        return RunRecord(row[0], row[1], row[2], row[3], json.loads(row[4]))
