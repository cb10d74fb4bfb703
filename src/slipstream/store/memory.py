"""A store that keeps everything in memory (tests, throwaway runs)."""

from __future__ import annotations

from collections import defaultdict

from slipstream.models import Stream
from slipstream.store.base import HISTORY_WINDOW_S, CheckRow, RunRecord


class MemoryStore:
    """Implements Store in process memory; nothing survives a restart."""

    def __init__(self) -> None:
        self.cache: dict[str, list[Stream]] = {}
        self.checks: list[CheckRow] = []
        self.runs: list[RunRecord] = []

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def load_cache(self) -> dict[str, list[Stream]]:
        """A copy of the cache."""
        return {k: list(v) for k, v in self.cache.items()}

    async def save_entry(self, site_key: str, streams: list[Stream]) -> None:
        """Replace one extractor's entry whole (an empty list clears it)."""
        if streams:
            self.cache[site_key] = list(streams)
        else:
            self.cache.pop(site_key, None)

    async def record_checks(self, rows: list[CheckRow]) -> None:
        """Append check rows to the history."""
        self.checks.extend(rows)

    async def uptime(self, now: float) -> dict[str, float]:
        """Live share of each stream's checks in the last 24 h."""
        live: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in self.checks:
            if row.checked_at >= now - HISTORY_WINDOW_S:
                live[row.stream_id][0] += row.is_live
                live[row.stream_id][1] += 1
        return {k: v[0] / v[1] for k, v in live.items()}

    async def record_run(self, run: RunRecord) -> None:
        """Remember a run's statistics."""
        self.runs.append(run)

    async def last_run(self) -> RunRecord | None:
        """The newest run, if any."""
        return self.runs[-1] if self.runs else None
